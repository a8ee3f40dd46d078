"""`dbt build` on the tiny sandbox warehouse passes every test (data and unit tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cx360.dbt import DbtError, run_dbt

from .conftest import BuiltWarehouse


def test_build_passes_every_test(warehouse: BuiltWarehouse) -> None:
    build = warehouse.build
    failed = [f"{node.resource_type} {node.name}: {node.message}" for node in build.failed]
    assert build.success, f"dbt build failed ({build.exception}):\n" + "\n".join(failed)
    kinds = {node.resource_type for node in build.results}
    assert {"model", "seed", "test", "unit_test"} <= kinds
    unit_tests = [node for node in build.results if node.resource_type == "unit_test"]
    assert len(unit_tests) >= 8 and all(node.status == "pass" for node in unit_tests)
    statuses = {node.status for node in build.results}
    assert statuses <= {"success", "pass", "warn", "no-op"}, statuses  # exposures are no-ops


def test_every_source_table_has_a_staging_model(warehouse: BuiltWarehouse) -> None:
    with warehouse.connect() as con:
        raw = {
            f"stg_{schema.removeprefix('raw_')}__{table}"
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema LIKE 'raw\\_%' ESCAPE '\\' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
            ).fetchall()
        }
        staged = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
            ).fetchall()
        }
    assert raw, "no raw tables were extracted"
    assert raw <= staged, f"raw tables without staging: {sorted(raw - staged)}"


def test_failures_name_the_failing_nodes(tmp_path: Path) -> None:
    """cx360.dbt raises DbtError listing each failing node (here: no raw data at all)."""
    with pytest.raises(DbtError) as caught:
        run_dbt(
            ["run", "--select", "stg_zendesk__groups"],
            tmp_path / "empty.duckdb",
            target_path=tmp_path / "target",
        )
    assert "stg_zendesk__groups" in str(caught.value)
    assert caught.value.run.failed[0].name == "stg_zendesk__groups"


INCREMENTAL = {
    "stg_zendesk__ticket_events": ("raw_zendesk.ticket_events", "id"),
    "stg_qualtrics__survey_responses": ("raw_qualtrics.survey_responses", "responseId"),
    "stg_delighted__survey_responses": ("raw_delighted.survey_responses", "id"),
    "stg_amplitude__events": ("raw_amplitude.events", "uuid"),
}


def test_incremental_staging_reruns_to_the_same_rows(warehouse: BuiltWarehouse) -> None:
    """A second, incremental run adds nothing twice: one row per raw key, as after a full build."""
    rerun = run_dbt(
        ["build", "--select", "config.materialized:incremental,path:models/staging"],
        warehouse.path,
        target_path=warehouse.target / "incremental",
        env=warehouse.env,
    )
    assert {node.name for node in rerun.results if node.resource_type == "model"} == set(
        INCREMENTAL
    )
    with warehouse.connect() as con:
        for model, (raw, key) in INCREMENTAL.items():
            rows, keys = con.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {raw}"
            ).fetchone()
            staged = con.execute(f"SELECT count(*) FROM staging.{model}").fetchone()[0]
            assert staged == keys == rows, (model, staged, keys, rows)
