"""Weekly reconciliation of ids: keys the API no longer returns are soft-deleted."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from cx360.extract import SOURCES, run_source
from orchestration.reconcile import reconcile_source
from orchestration.resources import sandbox_environment


def test_reconcile_soft_deletes_vanished_keys(sandbox, tmp_path: Path) -> None:
    source = SOURCES["zendesk"]
    warehouse, logs = tmp_path / "w.duckdb", tmp_path / "logs"
    env = {**os.environ, **sandbox_environment(sandbox.url)}
    base_url = sandbox.url + source.sandbox_path
    run_source(source, warehouse, base_url=base_url, env=env, log_dir=logs, streams=["groups"])
    with duckdb.connect(str(warehouse)) as con:
        live = con.execute(
            "select count(*) from raw_zendesk.groups where _deleted_at is null"
        ).fetchone()[0]
        # a group the API never returns any more (hard-deleted at the source)
        con.execute(
            "insert into raw_zendesk.groups (id, name, _loaded_at) values (999999, 'gone', now())"
        )
    marked = reconcile_source(
        source, warehouse, ["groups"], base_url=base_url, env=env, log_dir=logs
    )
    assert marked == {"groups": 1}
    with duckdb.connect(str(warehouse)) as con:
        deleted = con.execute(
            "select id from raw_zendesk.groups where _deleted_at is not null"
        ).fetchall()
        still_live = con.execute(
            "select count(*) from raw_zendesk.groups where _deleted_at is null"
        ).fetchone()[0]
    assert deleted == [(999999,)]
    assert still_live == live
