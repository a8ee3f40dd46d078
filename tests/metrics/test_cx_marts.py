"""The CX metric marts on the tiny sandbox warehouse: the build and its unit tests, grain
tests on every mart, parity of the event-stream support metrics with Zendesk's own, NPS
recounted from the raw scores, comment tags against the generator's true topics, the
sandbox's causal signal (detractors churn more than promoters), the health score rebuilt
from its components, and incremental reruns."""

from __future__ import annotations

import json
import math

import pytest

from cx360.dbt import run_dbt

from .conftest import MetricsWarehouse

CX_UNIT_TESTS = {
    "nps_and_margin_of_error_from_hand_made_scores",
    "score_categories_top_two_box_and_nps_coding",
    "csat_percent_satisfied_is_top_two_box_share",
    "drip_sample_excludes_recent_contacts_and_spreads_send_dates",
    "business_hours_windows_follow_dst_and_skip_holidays",
    "business_hours_resolution_across_a_weekend",
}
CX_MARTS = {
    "fct_survey_responses",
    "fct_tickets",
    "fct_support_customers_monthly",
    "mart_nps_quarterly",
    "mart_csat_monthly",
    "mart_txs_monthly",
    "mart_ces_monthly",
    "mart_psat_monthly",
    "mart_support_kpis_monthly",
    "mart_close_the_loop",
    "mart_account_health_daily",
    "mart_score_outcomes",
    "mart_survey_sample",
    "mart_signup_survey_list",
}
GRAIN_TESTS = {"unique", "unique_combination"}


def test_build_passes_with_the_cx_unit_tests(metrics_warehouse: MetricsWarehouse) -> None:
    build = metrics_warehouse.build
    failed = [f"{node.resource_type} {node.name}: {node.message}" for node in build.failed]
    assert build.success, f"dbt build failed ({build.exception}):\n" + "\n".join(failed)
    unit_tests = {
        node.unique_id.rsplit(".", 1)[-1]: node.status
        for node in build.results
        if node.resource_type == "unit_test"
    }
    assert set(unit_tests) >= CX_UNIT_TESTS, CX_UNIT_TESTS - set(unit_tests)
    assert all(unit_tests[name] == "pass" for name in CX_UNIT_TESTS)
    built = {node.name for node in build.results if node.resource_type == "model"}
    assert built >= CX_MARTS, CX_MARTS - built


def test_every_cx_mart_is_documented_and_grain_tested(metrics_warehouse: MetricsWarehouse) -> None:
    manifest = json.loads((metrics_warehouse.target / "manifest.json").read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in CX_MARTS
    }
    assert set(models) == CX_MARTS
    grain_tested: set[str] = set()
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and metadata.get("name") in GRAIN_TESTS:
            grain_tested.update(model.rsplit(".", 1)[-1] for model in node["depends_on"]["nodes"])
    assert grain_tested >= CX_MARTS, CX_MARTS - grain_tested
    with metrics_warehouse.connect() as con:
        for name, node in models.items():
            assert node["description"].strip(), name
            built = {
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'marts' AND table_name = ?",
                    [name],
                ).fetchall()
            }
            documented = {
                column for column, spec in node["columns"].items() if spec["description"].strip()
            }
            assert built and built <= documented, (name, built - documented)


def test_event_stream_support_metrics_match_zendesk(metrics_warehouse: MetricsWarehouse) -> None:
    """First reply, full resolution (calendar), reopens and replies recomputed from the ticket
    events agree with Zendesk's ticket_metrics (which count whole minutes); business minutes
    never exceed calendar minutes."""
    with metrics_warehouse.connect() as con:
        total, reply, resolution, reopens, replies, business = con.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE floor(t.first_reply_calendar_minutes)
                                    IS DISTINCT FROM m.first_reply_calendar_minutes),
                   count(*) FILTER (WHERE floor(t.full_resolution_calendar_minutes)
                                    IS DISTINCT FROM m.full_resolution_calendar_minutes),
                   count(*) FILTER (WHERE t.reopen_count <> m.reopen_count),
                   count(*) FILTER (WHERE t.public_agent_reply_count <> m.reply_count),
                   count(*) FILTER (WHERE t.full_resolution_business_minutes
                                    > t.full_resolution_calendar_minutes + 0.01
                                    OR t.first_reply_business_minutes
                                    > t.first_reply_calendar_minutes + 0.01)
            FROM marts.fct_tickets AS t
            JOIN staging.stg_zendesk__ticket_metrics AS m USING (ticket_id)
            """
        ).fetchone()
        escalated, unreplied = con.execute(
            "SELECT sum(escalated_tickets), sum(unreplied_tickets) FROM marts.mart_support_kpis_monthly"
            " WHERE breakdown = 'all'"
        ).fetchone()
    assert total > 500
    assert (reply, resolution, reopens, replies, business) == (0, 0, 0, 0, 0)
    assert escalated > 0 and unreplied is not None


def test_nps_mart_recounts_the_raw_scores(metrics_warehouse: MetricsWarehouse) -> None:
    """Overall NPS and margin per quarter equal a recount from the staged 0-10 scores."""
    with metrics_warehouse.connect() as con:
        recount = con.execute(
            """
            WITH scores AS (
                SELECT recorded_at AS responded_at, score FROM staging.stg_qualtrics__survey_responses r
                JOIN staging.stg_qualtrics__surveys s USING (survey_id)
                WHERE s.survey_name LIKE 'Relationship NPS%' AND NOT r.is_deleted AND r.is_finished
                UNION ALL
                SELECT created_at, score FROM staging.stg_delighted__survey_responses
                WHERE coalesce(survey_program, survey_type) ILIKE 'nps' AND NOT is_deleted
            )
            SELECT date_trunc('quarter', responded_at)::date AS q, count(*) AS n,
                   count(*) FILTER (WHERE score >= 9) AS p, count(*) FILTER (WHERE score <= 6) AS d
            FROM scores GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
        mart = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT quarter_start, responses, nps, nps_margin_of_error FROM marts.mart_nps_quarterly"
                " WHERE breakdown = 'all'"
            ).fetchall()
        }
    assert recount and len(recount) == len(mart)
    for quarter, n, promoters, detractors in recount:
        p, d = promoters / n, detractors / n
        margin = 1.96 * math.sqrt((p + d - (p - d) ** 2) / n) * 100
        assert mart[quarter][0] == n
        assert mart[quarter][1] == pytest.approx(100 * (p - d), abs=0.01)
        assert mart[quarter][2] == pytest.approx(margin, abs=0.01)


def test_comment_tags_find_the_true_topics(metrics_warehouse: MetricsWarehouse) -> None:
    """The taxonomy seed tags each generated survey comment with its true topic, and VADER
    reads the generator's negative and positive comment templates (chosen by the score's
    position on its scale: < 60 % negative, >= 80 % positive) the right way round."""
    with metrics_warehouse.connect() as con:
        n, primary_hits, negative_read_negative, positive_read_positive = con.execute(
            """
            WITH tagged AS (
                SELECT r.comment_primary_topic, r.comment_sentiment, gt.topic,
                       (r.score - r.scale_min) / (r.scale_max - r.scale_min) AS position
                FROM marts.fct_survey_responses AS r
                JOIN gt.gt_survey_respondents AS gt ON gt.response_id = r.response_id
                WHERE gt.topic IS NOT NULL
            )
            SELECT count(*),
                   count(*) FILTER (WHERE comment_primary_topic = topic),
                   avg((comment_sentiment < 0)::int) FILTER (WHERE position < 0.6),
                   avg((comment_sentiment > 0)::int) FILTER (WHERE position >= 0.8)
            FROM tagged
            """
        ).fetchone()
    assert n > 50
    assert primary_hits / n >= 0.95
    assert negative_read_negative >= 0.6 and positive_read_positive >= 0.95


def test_detractors_churn_more_than_promoters(metrics_warehouse: MetricsWarehouse) -> None:
    """The sandbox's causal signal: low health lowers scores and raises churn at renewal."""
    with metrics_warehouse.connect() as con:
        rates = {
            (signal, value): (events, churn)
            for signal, value, events, churn in con.execute(
                "SELECT signal, signal_value, renewal_events, churn_rate_pct"
                " FROM marts.mart_score_outcomes"
            ).fetchall()
        }
    for signal in ("nps_category", "nps_response_category"):
        detractors, promoters = rates[(signal, "detractor")], rates[(signal, "promoter")]
        assert detractors[0] >= 5 and promoters[0] >= 5, (signal, detractors, promoters)
        assert detractors[1] > promoters[1], (signal, detractors, promoters)


def test_health_score_is_the_weighted_components(metrics_warehouse: MetricsWarehouse) -> None:
    with metrics_warehouse.connect() as con:
        rows, off, bands, c360 = con.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE abs(health_score - (0.35 * usage_score + 0.2 * support_score
                       + 0.25 * sentiment_score + 0.2 * commercial_score)) > 0.2),
                   count(*) FILTER (WHERE health_band <> CASE WHEN health_score < 40 THEN 'at_risk'
                       WHEN health_score < 70 THEN 'neutral' ELSE 'growth' END),
                   (SELECT count(health_band) FROM marts.customer_360)
            FROM marts.mart_account_health_daily
            """
        ).fetchone()
    assert rows > 0 and off == 0 and bands == 0 and c360 > 0


def test_cx_incremental_models_rerun_to_the_same_rows(metrics_warehouse: MetricsWarehouse) -> None:
    """A second run of the CX incremental models (nothing new loaded) changes no row count
    and keeps their keys unique."""
    keys = {
        "int_zendesk__ticket_event_children": "child_event_id",
        "int_zendesk__ticket_lifecycle": "ticket_id",
        "int_comment_texts": "(text_source, source_id)",
        "int_comment_tags": "text_hash",
    }
    query = " UNION ALL ".join(
        f"SELECT '{model}', count(*), count(DISTINCT {key}) FROM intermediate.{model}"
        for model, key in keys.items()
    )
    with metrics_warehouse.connect() as con:
        before = sorted(con.execute(query).fetchall())
    rerun = run_dbt(
        ["run", "--select", *keys],
        metrics_warehouse.path,
        target_path=metrics_warehouse.target / "incremental",
        env=metrics_warehouse.env,
    )
    # (the project's on-run-start hook is a result too: operations are not models)
    assert {node.name for node in rerun.results if node.resource_type == "model"} == set(keys)
    with metrics_warehouse.connect() as con:
        after = sorted(con.execute(query).fetchall())
    assert before == after
    assert all(rows == distinct > 0 for _, rows, distinct in after)
