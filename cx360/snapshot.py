"""The read-only BI snapshot of the marts, swapped in atomically after a successful build.

BI tools read a separate DuckDB file (and/or Parquet files), never the warehouse:

* ``<bi_dir>/cx360_bi.duckdb`` — every published mart as a table in ``main``, plus
  ``_snapshot`` (version, created_at, table_name, rows). A new snapshot is written to a
  hidden temporary file and renamed over the old one (``os.replace``, atomic on POSIX): a
  reader that opened the old file keeps reading it unchanged, the next reader opens the new
  one, nobody ever sees a half-written file, and the writer never waits for readers (it never
  opens the published file).
* ``<bi_dir>/parquet/<version>/<table>.parquet`` — immutable versions, and ``current``, a
  symlink swapped atomically; resolve it once (:func:`parquet_dir`) and read every file of
  that version. The last ``keep`` versions stay for readers still on an older one.

Open the snapshot with :func:`connect` (``read_only=True``: shared lock only, no WAL).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SNAPSHOT_FILE = "cx360_bi.duckdb"
META_TABLE = "_snapshot"
PARQUET_DIR = "parquet"
CURRENT = "current"


class SnapshotError(RuntimeError):
    pass


@dataclass
class SnapshotInfo:
    version: str
    created_at: str
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    parquet_dir: Path | None = None
    seconds: float = 0.0


def snapshot_path(bi_dir: Path) -> Path:
    return Path(bi_dir) / SNAPSHOT_FILE


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _new_version() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond:06d}Z"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    warehouse: Path | duckdb.DuckDBPyConnection,
    bi_dir: Path,
    relations: Sequence[tuple[str, str]] | Sequence[tuple[str, str, str]],
    *,
    parquet: bool = True,
    keep: int = 3,
) -> SnapshotInfo:
    """Copy `relations` ((schema, table) or (schema, table, published name)) into a new
    snapshot and swap it in. `warehouse` is a path or an open connection to it (the caller's,
    so a process opens the warehouse with one set of connect arguments)."""
    if not relations:
        raise SnapshotError("nothing to publish: no relations given")
    started = time.perf_counter()
    bi_dir = Path(bi_dir)
    bi_dir.mkdir(parents=True, exist_ok=True)
    version = _new_version()
    created_at = datetime.now(UTC).isoformat()
    building = bi_dir / f".building-{version}.duckdb"
    named = [(r[0], r[1], r[2] if len(r) > 2 else r[1]) for r in relations]
    names = [name for _, _, name in named]
    if len(set(names)) != len(names):
        raise SnapshotError(f"published table names collide: {sorted(names)}")
    with _connection(warehouse) as con:
        tables: dict[str, int] = {}
        con.execute(f"attach '{building}' as cx360_snapshot_build")
        try:
            for schema, table, name in named:
                con.execute(
                    f"create table cx360_snapshot_build.main.{_quote(name)} as "
                    f"select * from {_quote(schema)}.{_quote(table)}"
                )
                tables[name] = con.execute(
                    f"select count(*) from cx360_snapshot_build.main.{_quote(name)}"
                ).fetchone()[0]
            con.execute(
                f"create table cx360_snapshot_build.main.{META_TABLE} "
                "(version varchar, created_at timestamptz, table_name varchar, rows bigint, "
                "source varchar)"
            )
            con.executemany(
                f"insert into cx360_snapshot_build.main.{META_TABLE} values (?, ?, ?, ?, ?)",
                [
                    [version, created_at, name, tables[name], f"{schema}.{table}"]
                    for schema, table, name in named
                ],
            )
            con.execute("checkpoint cx360_snapshot_build")
        finally:
            con.execute("detach cx360_snapshot_build")
        parquet_version = None
        if parquet:
            parquet_version = _write_parquet(con, bi_dir, version, named, tables, created_at)
    wal = building.with_name(building.name + ".wal")
    if wal.exists():  # checkpointed above; a leftover WAL would be a bug, never publish it
        building.unlink(missing_ok=True)
        raise SnapshotError(f"snapshot {building} left a WAL behind; not published")
    _fsync(building)
    target = snapshot_path(bi_dir)
    building.replace(target)
    _fsync(bi_dir)
    info = SnapshotInfo(version, created_at, target, tables, None)
    if parquet_version is not None:
        _swap_current(bi_dir / PARQUET_DIR, version)
        _prune(bi_dir / PARQUET_DIR, keep)
        info.parquet_dir = bi_dir / PARQUET_DIR / CURRENT
    _clean_leftovers(bi_dir)
    info.seconds = round(time.perf_counter() - started, 2)
    return info


@contextlib.contextmanager
def _connection(
    warehouse: Path | duckdb.DuckDBPyConnection,
) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        yield warehouse
        return
    con = duckdb.connect(str(warehouse))
    try:
        yield con
    finally:
        con.close()


def _write_parquet(con, bi_dir: Path, version: str, named, tables, created_at) -> Path:
    root = bi_dir / PARQUET_DIR
    building = root / f".building-{version}"
    building.mkdir(parents=True, exist_ok=True)
    for schema, table, name in named:
        path = building / f"{name}.parquet"
        con.execute(
            f"copy (select * from {_quote(schema)}.{_quote(table)}) to '{path}' "
            "(format parquet, compression zstd)"
        )
    (building / "_snapshot.json").write_text(
        json.dumps({"version": version, "created_at": created_at, "tables": tables}, indent=2)
    )
    final = root / version
    building.replace(final)
    return final


def _swap_current(root: Path, version: str) -> None:
    link = root / CURRENT
    tmp = root / f".{CURRENT}-{version}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(version, target_is_directory=True)
    tmp.replace(link)


def _prune(root: Path, keep: int) -> None:
    current = str((root / CURRENT).readlink()) if (root / CURRENT).is_symlink() else None
    versions = sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.name[0].isdigit()
    )
    for name in versions[: max(0, len(versions) - keep)]:
        if name != current:
            shutil.rmtree(root / name, ignore_errors=True)


def _clean_leftovers(bi_dir: Path) -> None:
    """Remove temporary files of crashed publishes (older than an hour)."""
    cutoff = time.time() - 3600
    for pattern, root in ((".building-*", bi_dir), (".building-*", bi_dir / PARQUET_DIR)):
        if not root.exists():
            continue
        for path in root.glob(pattern):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()


def connect(bi_dir: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot (what BI tools should do)."""
    path = snapshot_path(bi_dir)
    if not path.exists():
        raise SnapshotError(f"no snapshot published yet at {path}")
    return duckdb.connect(str(path), read_only=True)


def current(bi_dir: Path) -> SnapshotInfo | None:
    """The published snapshot's version and tables, or None."""
    path = snapshot_path(bi_dir)
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            f"select version, created_at, table_name, rows from {META_TABLE} order by table_name"
        ).fetchall()
    if not rows:
        return None
    parquet = Path(bi_dir) / PARQUET_DIR / CURRENT
    return SnapshotInfo(
        version=rows[0][0],
        created_at=str(rows[0][1]),
        path=path,
        tables={row[2]: row[3] for row in rows},
        parquet_dir=parquet if parquet.exists() else None,
    )


def parquet_dir(bi_dir: Path) -> Path:
    """The current Parquet version's directory, resolved once (read all files from it)."""
    link = Path(bi_dir) / PARQUET_DIR / CURRENT
    if not link.exists():
        raise SnapshotError(f"no Parquet snapshot published yet at {link}")
    return link.resolve()


def tables(bi_dir: Path) -> Iterable[str]:
    info = current(bi_dir)
    return list(info.tables) if info else []
