"""What each raw table must hold after a sync at the sandbox clock `now`, from the world files."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from cx360_sandbox.store import WorldFiles

from tests.sandbox import truth

HOUR = 3_600


def _scalar_set(world: WorldFiles, sql: str, params: list | None = None) -> set:
    con = duckdb.connect()
    for table in world.tables:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{world.path(table)}')")
    return {row[0] for row in con.execute(sql, params or []).fetchall()}


def expected_keys(world: WorldFiles, now: int) -> dict[tuple[str, str], set]:
    """Primary keys per (schema, table). Taps read Salesforce through queryAll."""
    ts = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    keys: dict[tuple[str, str], set] = {
        ("raw_salesforce", "accounts"): truth.salesforce_ids(world, "sf_accounts", now, True),
        ("raw_salesforce", "contacts"): truth.salesforce_ids(world, "sf_contacts", now, True),
        ("raw_salesforce", "opportunities"): truth.salesforce_ids(
            world, "sf_opportunities", now, True
        ),
        ("raw_salesforce", "users"): truth.salesforce_ids(world, "sf_users", now, False),
        ("raw_salesforce", "opportunity_contact_roles"): truth.salesforce_ids(
            world, "sf_opportunity_contact_roles", now, True
        ),
        ("raw_zendesk", "tickets"): truth.zendesk_cursor_ids(world, "zd_tickets", now),
        ("raw_zendesk", "users"): truth.zendesk_cursor_ids(world, "zd_users", now),
        ("raw_zendesk", "organizations"): truth.visible_ids(world, "zd_organizations", "id", now),
        ("raw_zendesk", "groups"): truth.visible_ids(world, "zd_groups", "id", now),
        ("raw_zendesk", "ticket_metrics"): truth.zendesk_metric_set_ids(world, now),
        ("raw_zendesk", "satisfaction_ratings"): truth.visible_ids(
            world, "zd_satisfaction_ratings", "id", now
        ),
        ("raw_zendesk", "ticket_events"): _scalar_set(
            world, "SELECT id FROM zd_ticket_events WHERE timestamp <= ?", [now - 60]
        ),
        ("raw_qualtrics", "surveys"): truth.visible_ids(world, "qx_surveys", "id", now),
        ("raw_qualtrics", "survey_responses"): _scalar_set(
            world, "SELECT responseId FROM qx_responses WHERE recordedDate <= ?", [ts]
        ),
        ("raw_delighted", "survey_responses"): truth.visible_ids(
            world, "dl_survey_responses", "id", now
        ),
        ("raw_delighted", "people"): truth.visible_ids(world, "dl_people", "id", now),
    }
    return keys


def expected_event_count(world: WorldFiles, upload_before: datetime) -> int:
    con = duckdb.connect()
    [(count,)] = con.execute(
        f"SELECT count(*) FROM read_parquet('{world.path('amp_events')}')"
        " WHERE server_upload_time < ?",
        [upload_before.replace(tzinfo=None)],
    ).fetchall()
    return count
