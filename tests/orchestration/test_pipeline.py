"""The main job end to end at `tiny` (must-shows 2 and 3, without the browser part).

One in-process run of the whole graph against the sandbox (session fixture `tiny_pipeline`),
then a corrupted raw record: the blocking quality gate fails, the marts are not rebuilt and
the published BI snapshot stays exactly as it was.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from cx360 import snapshot

ARTEFACTS = ("BI snapshot (DuckDB)", "BI snapshot (Parquet)", "dbt docs", "quality report",
             "GX Data Docs", "CX report")  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_main_job_produces_every_artefact(tiny_pipeline) -> None:
    result = tiny_pipeline.result
    assert result.success, (result.failures, result.quality_failures)
    for name in ARTEFACTS:
        assert result.artefacts[name].exists(), f"{name} missing: {result.artefacts[name]}"
    printed = "\n".join(tiny_pipeline.lines)
    assert "dagster dev" in printed and "127.0.0.1" in printed
    for name in ARTEFACTS:
        assert name in printed
    # the published snapshot holds the marts
    info = snapshot.current(result.artefacts["BI snapshot (DuckDB)"].parent)
    assert {"customer_360", "dim_customers"} <= set(info.tables)
    assert info.tables["dim_customers"] > 0
    # reports are self-contained: nothing fetched from a CDN
    for name in ("CX report", "quality report", "dbt docs"):
        html = result.artefacts[name].read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=[\"']https?://", html), name
        assert not re.search(r"<link[^>]+href=[\"']https?://[^\"']+\.css", html), name
    assert "Plotly" in result.artefacts["CX report"].read_text(encoding="utf-8")


def test_extract_assets_record_counts_and_seconds(tiny_pipeline) -> None:
    instance = tiny_pipeline.instance
    event = instance.get_latest_materialization_event(AssetKey(["raw_zendesk", "tickets"]))
    metadata = event.asset_materialization.metadata
    assert metadata["records"].value > 0
    assert metadata["dagster/row_count"].value >= metadata["records"].value
    assert "seconds" in metadata and "quarantined" in metadata


def test_failed_gate_stops_marts_and_keeps_snapshot(tiny_pipeline, tiny_world, dbt_project) -> None:
    from orchestration.jobs import run_main_job

    data_dir, warehouse = tiny_pipeline.data_dir, tiny_pipeline.warehouse
    bi_dir = data_dir / "bi"
    before = snapshot.current(bi_dir)
    digest = _sha256(snapshot.snapshot_path(bi_dir))
    mart = AssetKey(["marts", "customer_360"])
    instance = tiny_pipeline.instance
    marts_before = instance.get_latest_materialization_event(mart).run_id
    with duckdb.connect(str(warehouse)) as con:
        # the account least likely to be re-fetched by an incremental sync (oldest change)
        account_id, created = con.execute(
            'select "Id", "CreatedDate" from raw_salesforce.accounts '
            'order by "SystemModstamp", "Id" limit 1'
        ).fetchone()
        con.execute(
            "update raw_salesforce.accounts set \"CreatedDate\" = timestamptz '2031-01-01 00:00:00+00'"
            ' where "Id" = ?',
            [account_id],
        )
    lines: list[str] = []
    try:
        result = run_main_job(
            "tiny", 42, data_dir=data_dir, world_root=tiny_world.directory.parent,
            dbt_project_dir=dbt_project.project_dir, instance=instance, echo=lines.append,
        )  # fmt: skip
    finally:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                'update raw_salesforce.accounts set "CreatedDate" = ? where "Id" = ?',
                [created, account_id],
            )
    assert not result.success
    assert "gx_raw_salesforce" in result.failed_steps
    assert "dbt_models" not in {*result.step_seconds}, "dbt ran on data that failed its gate"
    assert {"dbt_models", "bi_snapshot", "cx_report"} <= set(result.skipped_steps)
    # marts not rebuilt, snapshot untouched
    assert instance.get_latest_materialization_event(mart).run_id == marts_before
    assert snapshot.current(bi_dir).version == before.version
    assert _sha256(snapshot.snapshot_path(bi_dir)) == digest
    # the report says which expectation failed on which table, with sample rows
    printed = "\n".join(lines)
    assert "raw_salesforce.accounts" in printed and "CreatedDate" in printed
    assert account_id in printed, "sample row missing"
    report = result.artefacts["quality report"].read_text(encoding="utf-8")
    assert "FAILED (blocking)" in report and account_id in report


def test_missing_environment_lists_every_variable(monkeypatch, tmp_path) -> None:
    from cx360.extract import SOURCES, MissingEnvironmentError
    from orchestration.jobs import run_main_job

    for source in SOURCES.values():
        for variable in (*source.credentials, source.base_url_variable):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("CX360_PII_SALT", raising=False)
    with pytest.raises(MissingEnvironmentError) as raised:
        run_main_job(sandbox=False, data_dir=tmp_path, echo=lambda _: None)
    message = str(raised.value)
    for variable in ("SALESFORCE_CLIENT_ID", "ZENDESK_API_TOKEN", "CX360_ZENDESK_BASE_URL",
                     "QUALTRICS_API_TOKEN", "DELIGHTED_API_KEY", "AMPLITUDE_SECRET_KEY",
                     "CX360_PII_SALT"):  # fmt: skip
        assert variable in message
    assert message.count("missing environment variables") == 1
