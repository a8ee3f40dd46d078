"""The BI snapshot: atomic swap, readers never error nor see a mixed state (must-show 4)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import duckdb

from cx360 import snapshot

TABLES = ("mart_a", "mart_b", "mart_c")


def _build_marts(warehouse: Path, generation: int, rows: int = 20_000) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        for index, table in enumerate(TABLES):
            con.execute(
                f"create or replace table marts.{table} as select range as id, "
                f"{generation} as generation, repeat('x', 40) as padding "
                f"from range({rows + index * 1000 + generation})"
            )


def _reader(bi_dir: str, stop_at: float, queue) -> None:
    """Loop: open the snapshot, read its version and every table in one connection."""
    reads, errors, mixed, versions = 0, [], [], set()
    while time.time() < stop_at:
        try:
            with snapshot.connect(Path(bi_dir)) as con:
                meta = con.execute(
                    "select version, table_name, rows from _snapshot order by table_name"
                ).fetchall()
                version = meta[0][0]
                generations = set()
                for _, table, rows in meta:
                    count, gens = con.execute(
                        f"select count(*), list(distinct generation) from {table}"
                    ).fetchone()
                    generations.update(gens)
                    if count != rows:
                        mixed.append(f"{table}: {count} rows, _snapshot says {rows}")
                if len({v for v, _, _ in meta}) != 1 or len(generations) != 1:
                    mixed.append(f"version {version}: generations {sorted(generations)}")
                versions.add(version)
                reads += 1
        except Exception as error:  # the test fails on any
            errors.append(repr(error))
    queue.put({"reads": reads, "errors": errors[:5], "mixed": mixed[:5], "versions": len(versions)})


def test_publish_then_read(tmp_path: Path) -> None:
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _build_marts(warehouse, 1, rows=100)
    info = snapshot.publish(warehouse, bi_dir, [("marts", t) for t in TABLES])
    assert info.tables == {"mart_a": 101, "mart_b": 1101, "mart_c": 2101}
    assert snapshot.current(bi_dir).version == info.version
    assert sorted(p.name for p in snapshot.parquet_dir(bi_dir).glob("*.parquet")) == [
        f"{t}.parquet" for t in TABLES
    ]
    assert not list(bi_dir.glob(".building-*"))
    # the writer can rebuild and republish while a reader holds the old snapshot open
    with snapshot.connect(bi_dir) as reader:
        _build_marts(warehouse, 2, rows=100)
        second = snapshot.publish(warehouse, bi_dir, [("marts", t) for t in TABLES])
        assert reader.execute("select distinct generation from mart_a").fetchall() == [(1,)]
    assert snapshot.current(bi_dir).version == second.version != info.version
    with snapshot.connect(bi_dir) as con:
        assert con.execute("select distinct generation from mart_b").fetchall() == [(2,)]


def test_reader_during_refreshes(tmp_path: Path) -> None:
    """A reader process loops over the snapshot while the writer refreshes it repeatedly."""
    warehouse, bi_dir = tmp_path / "w.duckdb", tmp_path / "bi"
    _build_marts(warehouse, 0)
    snapshot.publish(warehouse, bi_dir, [("marts", t) for t in TABLES])
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(bi_dir), time.time() + 6, queue))
    reader.start()
    refreshes = 0
    deadline = time.time() + 5
    while time.time() < deadline:
        refreshes += 1
        _build_marts(warehouse, refreshes)
        snapshot.publish(warehouse, bi_dir, [("marts", t) for t in TABLES])
    outcome = queue.get(timeout=60)
    reader.join(timeout=30)
    assert outcome["errors"] == [], outcome
    assert outcome["mixed"] == [], outcome
    assert outcome["reads"] > 20 and refreshes > 3, (outcome, refreshes)
    assert outcome["versions"] > 1, "the reader never saw a refresh"
    assert len(list((bi_dir / "parquet").iterdir())) <= 4  # 3 kept versions + current
