"""Identity resolution scored against the sandbox's ground truth.

Precision = links to the true account ÷ links made; recall = links to the true account ÷
records (present in the warehouse) that truly belong to an account.
"""

from __future__ import annotations

import pytest

from .conftest import BuiltWarehouse

MIN_PRECISION = 0.99
MIN_RECALL = 0.95

TRUTH = {
    "organization": (
        ("zendesk_organization",),
        "SELECT CAST(organization_id AS VARCHAR) AS id, account_id FROM gt.gt_zendesk_organizations",
    ),
    "respondent": (
        ("qualtrics_response", "delighted_response"),
        "SELECT response_id AS id, account_id FROM gt.gt_survey_respondents",
    ),
    "zendesk_user": (
        ("zendesk_user",),
        "SELECT CAST(zendesk_user_id AS VARCHAR) AS id, account_id FROM gt.gt_people "
        "WHERE zendesk_user_id IS NOT NULL",
    ),
}


def score(warehouse: BuiltWarehouse, kind: str) -> dict[str, float]:
    systems, truth = TRUTH[kind]
    placeholders = ", ".join("?" for _ in systems)
    with warehouse.connect() as con:
        total, true_links, made, correct = con.execute(
            f"""
            WITH links AS (
                SELECT source_id, account_id FROM intermediate.int_identity__links
                WHERE source_system IN ({placeholders})
            ), truth AS ({truth})
            SELECT count(*),
                   count(truth.account_id),
                   count(links.account_id),
                   count(*) FILTER (WHERE links.account_id = truth.account_id)
            FROM links LEFT JOIN truth ON truth.id = links.source_id
            """,
            list(systems),
        ).fetchone()
    return {
        "records": total,
        "true_links": true_links,
        "links_made": made,
        "correct": correct,
        "precision": correct / made if made else 0.0,
        "recall": correct / true_links if true_links else 0.0,
    }


@pytest.mark.parametrize("kind", ["organization", "respondent"])
def test_links_meet_precision_and_recall(warehouse: BuiltWarehouse, kind: str) -> None:
    result = score(warehouse, kind)
    print(f"{kind}→account: {result}")
    assert result["records"] > 0 and result["true_links"] > 0
    assert result["precision"] >= MIN_PRECISION, result
    assert result["recall"] >= MIN_RECALL, result


def test_every_record_is_resolved_or_audited(warehouse: BuiltWarehouse) -> None:
    """Unmatched and ambiguous records are in identity_audit, not silently dropped."""
    with warehouse.connect() as con:
        counts = dict(
            con.execute(
                "SELECT source_system, count(*) FROM marts.identity_audit GROUP BY 1"
            ).fetchall()
        )
        organizations = con.execute(
            "SELECT count(*) FROM staging.stg_zendesk__organizations WHERE NOT is_deleted"
        ).fetchone()[0]
        responses = con.execute(
            "SELECT (SELECT count(*) FROM staging.stg_qualtrics__survey_responses)"
            " + (SELECT count(*) FROM staging.stg_delighted__survey_responses)"
        ).fetchone()[0]
        methods = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT match_method FROM marts.identity_audit WHERE account_id IS NOT NULL"
            ).fetchall()
        }
    assert counts["zendesk_organization"] == organizations
    assert counts["qualtrics_response"] + counts["delighted_response"] == responses
    assert {"salesforce_account_id", "contact_id", "contact_email"} <= methods


def test_support_users_are_linked_precisely(warehouse: BuiltWarehouse) -> None:
    result = score(warehouse, "zendesk_user")
    print(f"zendesk user→account: {result}")
    assert result["precision"] >= MIN_PRECISION, result
    assert result["recall"] >= MIN_RECALL, result
