"""dim_customers against the ground truth: one row per company that exists at the
sandbox's clock, and the three customer definitions equal to counts computed independently
from the generator's ground truth.

Semantics matched to the generator (extractors/cx360_sandbox/world.py), at the clock
(2026-11-01T00:00Z, timeline.ANCHOR) the extraction saw:

* marketing — every company whose Salesforce account was created by then (gt_companies);
* billing — companies inside a paid period (gt_paid_periods: started_at ≤ clock < ended_at,
  or still open), which is exactly when closed-won contract terms are in force;
* support — companies with at least one person whose Zendesk user, in its latest version
  at the clock (zd_users, versioned by _valid_from), is active and not suspended — the
  generator suspends a workspace's users when the company churns and restores them when it
  comes back.
"""

from __future__ import annotations

from .conftest import CLOCK, BuiltWarehouse

TRUTH = {
    "marketing": f"""
        SELECT account_id FROM gt.gt_companies WHERE created_at <= TIMESTAMP '{CLOCK}'
    """,
    "billing": f"""
        SELECT DISTINCT account_id FROM gt.gt_paid_periods
        WHERE started_at <= TIMESTAMP '{CLOCK}'
          AND (ended_at IS NULL OR ended_at > TIMESTAMP '{CLOCK}')
    """,
    "support": f"""
        WITH users_at_clock AS (
            SELECT * FROM gt.zd_users
            WHERE _valid_from <= TIMESTAMP '{CLOCK}'
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY _valid_from DESC) = 1
        )
        SELECT DISTINCT people.account_id
        FROM gt.gt_people AS people
        JOIN users_at_clock AS users ON users.id = people.zendesk_user_id
        WHERE people.account_id IS NOT NULL AND users.active AND NOT users.suspended
    """,
}

FLAGS = {
    "marketing": "is_marketing_customer",
    "billing": "is_billing_customer",
    "support": "is_support_customer",
}


def _ids(con, sql: str) -> set[str]:
    return {row[0] for row in con.execute(sql).fetchall()}


def test_one_row_per_real_company(warehouse: BuiltWarehouse) -> None:
    with warehouse.connect() as con:
        rows, distinct = con.execute(
            "SELECT count(*), count(DISTINCT account_id) FROM marts.dim_customers"
        ).fetchone()
        customers = _ids(con, "SELECT account_id FROM marts.dim_customers")
        companies = _ids(con, TRUTH["marketing"])
        merged = _ids(
            con, "SELECT sf_account_id FROM gt.gt_salesforce_accounts WHERE is_merged_duplicate"
        )
    assert rows == distinct == len(companies)
    assert customers == companies
    assert not customers & merged


def test_definition_counts_equal_the_ground_truth(warehouse: BuiltWarehouse) -> None:
    with warehouse.connect() as con:
        for definition, flag in FLAGS.items():
            ours = _ids(con, f"SELECT account_id FROM marts.dim_customers WHERE {flag}")
            truth = _ids(con, TRUTH[definition])
            print(f"{definition}: dim_customers {len(ours)}, ground truth {len(truth)}")
            assert len(ours) == len(truth), (definition, sorted(ours ^ truth))
            assert ours == truth, (definition, sorted(ours ^ truth))


def test_reconciliation_agrees_with_dim_customers(warehouse: BuiltWarehouse) -> None:
    with warehouse.connect() as con:
        reconciliation = dict(
            con.execute(
                "SELECT customer_definition, customer_count"
                " FROM marts.customer_definition_reconciliation"
            ).fetchall()
        )
        flags = con.execute(
            "SELECT count(*) FILTER (WHERE is_marketing_customer),"
            " count(*) FILTER (WHERE is_billing_customer),"
            " count(*) FILTER (WHERE is_support_customer) FROM marts.dim_customers"
        ).fetchone()
        customer_360 = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    assert [reconciliation[name] for name in FLAGS] == list(flags)
    assert customer_360 == flags[0]
