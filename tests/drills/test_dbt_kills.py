"""dbt kill drill: SIGKILL `dbt build` at 20 seeded points, rerun, and the warehouse's dbt
tables (seeds, staging, intermediate, marts) equal a clean build's, row for row.

The clean build is the drill pipeline's (the main job's first build on an empty warehouse).
The killed builds start from the same raw tables with every dbt-built relation removed, so
the kills hit both first builds and incremental runs over half-built tables. Kill points
are seeded (node k of the build, then a delay of up to 0.5 s). The extract has its
own 20-kill drill (tests/extract/test_end_to_end.py).

A kill during an incremental model's build leaves its temporary relation
(`<model>__dbt_tmp<timestamp>`) behind; the rerun's on-run-start hook
(`drop_orphaned_dbt_tmp_relations`) must drop every one. dbt runs with the pipeline's PII salt, as the main job's build did (the e-mail
HMAC model reads it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from cx360.dbt import run_dbt
from tests.tables import contents, differences, row_count

from .conftest import SENTINELS

KILLS, SEED = 20, 6
SALT = {"CX360_PII_SALT": SENTINELS["CX360_PII_SALT"]}


def _raw_only_copy(source: Path, target: Path) -> None:
    shutil.copy(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(target.name + ".wal"))
    with duckdb.connect(str(target)) as con:
        schemas = [
            name
            for (name,) in con.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
                " AND NOT internal AND NOT starts_with(schema_name, 'raw_')"
                " AND NOT starts_with(schema_name, '_')"  # not dbt's: the quality gates' own
            ).fetchall()
        ]
        for schema in schemas:
            if schema == "main":
                for kind, name in con.execute(
                    "SELECT 'VIEW', view_name FROM duckdb_views() WHERE schema_name = 'main'"
                    " AND NOT internal AND database_name = current_database() UNION ALL "
                    "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                    " AND database_name = current_database()"
                ).fetchall():
                    con.execute(f'DROP {kind} main."{name}"')
            else:
                con.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_killed_dbt_builds_then_rerun_equal_a_clean_build(drill_pipeline, tmp_path: Path) -> None:
    assert drill_pipeline.result.success
    clean = contents(drill_pipeline.warehouse, "%", schema_not_like="raw_%", ignored=())
    assert any(schema == "marts" for schema, _ in clean) and row_count(clean) > 0
    warehouse = tmp_path / "warehouse.duckdb"
    _raw_only_copy(drill_pipeline.warehouse, warehouse)
    target = tmp_path / "target"
    worker = subprocess.run(
        [sys.executable, "-m", "tests.drills.dbt_kill_worker", "--warehouse", str(warehouse),
         "--project", str(drill_pipeline.dbt_project), "--target", str(target),
         "--seed", str(SEED), "--kills", str(KILLS)],
        capture_output=True, text=True, timeout=900, check=False,
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, **SALT},
    )  # fmt: skip
    kills = [json.loads(line) for line in worker.stdout.splitlines() if line.startswith("{")]
    assert worker.returncode == 0 and len(kills) == KILLS, worker.stderr[-3000:]
    orphans_dropped = len(_dbt_tmp_relations(warehouse))
    rerun = run_dbt(["build"], warehouse, project_dir=drill_pipeline.dbt_project,
                    target_path=target, env=SALT)  # fmt: skip
    rebuilt = contents(warehouse, "%", schema_not_like="raw_%", ignored=())
    leftovers = sorted(".".join(t) for t in rebuilt if "__dbt_tmp" in t[1])
    lost, extra = differences(clean, rebuilt)
    points = ", ".join(f"node {k['node']}+{k['delay']}s" for k in kills)
    print(
        f"\ndbt kill drill: {sum(k['killed'] for k in kills)} SIGKILLs of dbt build at seeded "
        f"points ({points}; of {kills[0]['of']} writing nodes) in "
        f"{sum(k['seconds'] for k in kills):.0f}s, then a full rerun ({rerun.seconds:.0f}s, "
        f"{rerun.summary()}): {lost} lost, {extra} duplicated or changed across "
        f"{len(clean)} tables ({row_count(clean):,} rows); {orphans_dropped} temporary "
        f"relations of killed incremental builds dropped by the rerun, {len(leftovers)} left"
    )
    assert not leftovers, leftovers
    assert all(k["killed"] for k in kills), kills
    assert set(rebuilt) == set(clean)
    assert (lost, extra) == (0, 0)


def _dbt_tmp_relations(warehouse: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name LIKE '%dbt_tmp%'"
            " UNION ALL SELECT schema_name, view_name FROM duckdb_views()"
            " WHERE NOT internal AND view_name LIKE '%dbt_tmp%'"
        ).fetchall()
    finally:
        con.close()
