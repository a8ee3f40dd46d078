"""The synthetic company: deterministic, dirty on purpose, and causally consistent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from cx360_sandbox.scale import UnknownScaleError
from cx360_sandbox.store import BadSeedError, WorldFiles, generate_world


def _query(world: WorldFiles, sql: str) -> list[tuple]:
    con = duckdb.connect()
    for table in world.tables:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{world.path(table)}')")
    return con.execute(sql).fetchall()


def test_same_seed_gives_byte_identical_files(tmp_path: Path, tiny_world: WorldFiles) -> None:
    again = generate_world("tiny", 42, root=tmp_path)
    assert again.tables == tiny_world.tables
    for table in tiny_world.tables:
        assert again.path(table).read_bytes() == tiny_world.path(table).read_bytes(), table


def test_other_seed_gives_other_data(tmp_path: Path, tiny_world: WorldFiles) -> None:
    other = generate_world("tiny", 7, root=tmp_path)
    assert other.tables["sf_accounts"]["sha256"] != tiny_world.tables["sf_accounts"]["sha256"]


def test_bad_scale_and_seed_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UnknownScaleError, match="choose one of: tiny, demo, medium"):
        generate_world("huge", 42, root=tmp_path)
    with pytest.raises(BadSeedError, match="seed must be an integer"):
        generate_world("tiny", -3, root=tmp_path)


def test_tiny_has_about_fifty_accounts_and_every_source(tiny_world: WorldFiles) -> None:
    rows = {name: table["rows"] for name, table in tiny_world.tables.items()}
    assert rows["gt_companies"] == 50
    for table in (
        "sf_accounts", "sf_contacts", "sf_opportunities", "sf_users",
        "sf_opportunity_contact_roles", "zd_tickets", "zd_users", "zd_organizations",
        "zd_ticket_events", "zd_ticket_metrics", "zd_satisfaction_ratings", "qx_responses",
        "qx_surveys", "dl_survey_responses", "dl_people", "amp_events",
    ):  # fmt: skip
        assert rows[table] > 0, table


def test_dirt_is_present_and_recorded(tiny_world: WorldFiles) -> None:
    [(variants, without_sf_id)] = _query(
        tiny_world,
        "SELECT count(*) FILTER (WHERE name_is_variant), count(*) FILTER (WHERE NOT has_external_id)"
        " FROM gt_zendesk_organizations",
    )
    assert variants > 0 and without_sf_id > 0
    [(free_mail,)] = _query(tiny_world, "SELECT count(*) FROM gt_people WHERE is_free_mail")
    assert free_mail > 0
    [(duplicates,)] = _query(
        tiny_world, "SELECT count(*) FROM gt_contacts WHERE dirt = 'duplicate'"
    )
    assert duplicates > 0
    [(late,)] = _query(
        tiny_world,
        "SELECT count(*) FROM amp_events WHERE server_upload_time > event_time + INTERVAL 2 HOUR",
    )
    assert late > 0
    [(null_industry,)] = _query(
        tiny_world, "SELECT count(DISTINCT Id) FROM sf_accounts WHERE Industry IS NULL"
    )
    assert null_industry > 0
    [(deleted_tickets,)] = _query(
        tiny_world, "SELECT count(DISTINCT id) FROM zd_tickets WHERE status = 'deleted'"
    )
    assert deleted_tickets > 0


def test_every_source_record_maps_to_ground_truth(tiny_world: WorldFiles) -> None:
    [(orphans,)] = _query(
        tiny_world,
        "SELECT count(*) FROM (SELECT DISTINCT id FROM zd_organizations) o"
        " ANTI JOIN gt_zendesk_organizations g ON g.organization_id = o.id",
    )
    assert orphans == 0
    [(unmapped_responses,)] = _query(
        tiny_world,
        "SELECT count(*) FROM qx_responses r ANTI JOIN gt_survey_respondents g"
        " ON g.response_id = r.responseId",
    )
    assert unmapped_responses == 0


def test_unhealthy_accounts_score_lower_and_churn_more(tiny_world: WorldFiles) -> None:
    """The causal thread: low health → lower NPS (checked on the demo scale in dbt tests)."""
    [(healthy_nps, unhealthy_nps)] = _query(
        tiny_world,
        """
        SELECT avg(r.score) FILTER (WHERE c.base_health > 0.5),
               avg(r.score) FILTER (WHERE c.base_health <= 0.5)
        FROM gt_survey_respondents r JOIN gt_companies c ON c.account_id = r.account_id
        WHERE r.survey_type = 'NPS'
        """,
    )
    assert healthy_nps > unhealthy_nps
