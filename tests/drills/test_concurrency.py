"""Concurrency drill: a BI reader loops over the published snapshot (DuckDB file and Parquet)
while a refresh rebuilds the marts with dbt and publishes them, alternating with the
previous version; it must never error nor see a mixed state.

The mechanism (atomic rename, versioned Parquet) is unit-tested on synthetic marts in
tests/orchestration/test_snapshot.py. Here it runs on the real marts: version A is the drill
pipeline's build; version B is a real dbt refresh of the same warehouse as of another
reporting date (`--vars as_of`), so the two differ. For every read, each table's content
fingerprint (row count and an order-independent hash of the rows) must be that of the one
version the reader saw in `_snapshot` (or in the resolved Parquet directory).
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path

import duckdb

from cx360 import snapshot
from cx360.dbt import run_dbt

REFRESH_AS_OF = "2026-06-30"
PUBLISH_SECONDS = 6


def _fingerprints(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> dict:
    return {
        name: tuple(con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {rel} AS t").fetchone())
        for name, rel in relations.items()
    }


def _published(bi_dir: Path) -> dict[str, dict]:
    """What the writer just published: fingerprints of the DuckDB file and the Parquet."""
    info = snapshot.current(bi_dir)
    with snapshot.connect(bi_dir) as con:
        duck = _fingerprints(con, {t: f'"{t}"' for t in info.tables})
        folder = snapshot.parquet_dir(bi_dir)
        files = {t: f"read_parquet('{folder / f'{t}.parquet'}')" for t in info.tables}
        parquet = _fingerprints(con, files)
    return {"version": info.version, "duckdb": duck, "parquet": parquet}


def _reader(bi_dir: str, stop, queue) -> None:
    """Loop until `stop`: read every table of the snapshot file, then of the current Parquet
    version, fingerprinting each."""
    reads, errors, seen = 0, [], []
    while not stop.is_set():
        try:
            with snapshot.connect(Path(bi_dir)) as con:
                meta = con.execute("SELECT DISTINCT version, table_name FROM _snapshot").fetchall()
                versions = {version for version, _ in meta}
                tables = {table: f'"{table}"' for _, table in meta}
                seen.append(("duckdb", sorted(versions), _fingerprints(con, tables)))
                folder = snapshot.parquet_dir(Path(bi_dir))
                files = {t: f"read_parquet('{folder / f'{t}.parquet'}')" for t in tables}
                seen.append(("parquet", [folder.name], _fingerprints(con, files)))
            reads += 1
        except Exception as error:  # the drill fails on any
            errors.append(repr(error))
    queue.put({"reads": reads, "errors": errors[:5], "seen": seen})


def test_bi_reader_never_errors_nor_sees_a_mixed_state(drill_pipeline, tmp_path: Path) -> None:
    assert drill_pipeline.result.success
    pipeline_bi = drill_pipeline.data_dir / "bi"
    with snapshot.connect(pipeline_bi) as con:
        sources = dict(con.execute("SELECT table_name, source FROM _snapshot").fetchall())
    relations = [(*source.split("."), name) for name, source in sources.items()]
    warehouse_a = drill_pipeline.warehouse
    warehouse_b = tmp_path / "refreshed.duckdb"
    shutil.copy(warehouse_a, warehouse_b)
    bi_dir = tmp_path / "bi"
    snapshot.publish(warehouse_a, bi_dir, relations)
    published = [_published(bi_dir)]

    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    reader = ctx.Process(target=_reader, args=(str(bi_dir), stop, queue))
    reader.start()
    try:
        refresh = run_dbt(
            ["run", "--select", "int_reporting_date+"], warehouse_b,
            project_dir=drill_pipeline.dbt_project, target_path=tmp_path / "target",
            dbt_vars={"as_of": REFRESH_AS_OF},
        )  # fmt: skip
        refreshes = 0
        deadline = time.time() + PUBLISH_SECONDS
        while time.time() < deadline or refreshes < 4:
            refreshes += 1
            source = warehouse_b if refreshes % 2 else warehouse_a
            snapshot.publish(source, bi_dir, relations)
            published.append(_published(bi_dir))
    finally:
        stop.set()
        outcome = queue.get(timeout=300)
        reader.join(timeout=60)
    by_version = {p["version"]: p for p in published}
    states = {tuple(sorted(p["duckdb"].items())) for p in published}
    mixed = []
    for kind, versions, fingerprints in outcome["seen"]:
        version = versions[0] if len(versions) == 1 else None
        expected = by_version.get(version, {}).get(kind)
        if expected != fingerprints:
            mixed.append((kind, versions, sorted(set(fingerprints) ^ set(expected or {}))))
    print(
        f"\nconcurrency drill: {outcome['reads']:,} snapshot reads (DuckDB file and Parquet, "
        f"{len(published[0]['duckdb'])} tables each) during a dbt refresh "
        f"({refresh.seconds:.0f}s) and {refreshes} publishes alternating 2 different states, "
        f"{len({v for _, vs, _ in outcome['seen'] for v in vs})} versions seen: "
        f"{len(outcome['errors'])} errors, {len(mixed)} mixed"
    )
    assert len(states) == 2, "the refresh did not change the marts"
    assert outcome["errors"] == [], outcome["errors"]
    assert mixed == [], mixed[:3]
    assert outcome["reads"] > 20
    assert len({v for kind, vs, _ in outcome["seen"] if kind == "duckdb" for v in vs}) > 2
