"""Generated worlds on disk: one Parquet file per table plus a manifest.

Files are written single-threaded in insertion order, so the same scale and seed give
byte-identical files; the manifest records each file's SHA-256 and row count.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import world
from .scale import Scale, get_scale
from .timeline import ANCHOR, HORIZON

GENERATOR_VERSION = 3
DEFAULT_ROOT = Path(".cx360") / "sandbox"
MEMORY_LIMIT_ENV = "CX360_SANDBOX_MEMORY_LIMIT"


class BadSeedError(ValueError):
    """Raised for a seed that is not a non-negative integer."""


def validate_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 or seed >= 2**63:
        raise BadSeedError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return seed


@dataclass(frozen=True)
class WorldFiles:
    directory: Path
    manifest: dict

    @property
    def tables(self) -> dict[str, dict]:
        return self.manifest["tables"]

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.parquet"


def world_directory(scale: Scale, seed: int, root: Path = DEFAULT_ROOT) -> Path:
    return Path(root) / f"{scale.name}-seed{seed}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generate_world(
    scale_name: str, seed: int, root: Path = DEFAULT_ROOT, force: bool = False
) -> WorldFiles:
    """Generate (or reuse) the world for `scale_name` and `seed` under `root`."""
    scale = get_scale(scale_name)
    seed = validate_seed(seed)
    directory = world_directory(scale, seed, root)
    manifest_path = directory / "manifest.json"
    if manifest_path.exists() and not force:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("generator_version") == GENERATOR_VERSION:
            return WorldFiles(directory, manifest)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # A file-backed build database keeps `medium` (GBs of ticket history) out of memory.
    build_path = directory / "build.duckdb"
    build_path.unlink(missing_ok=True)
    con = duckdb.connect(str(build_path))
    con.execute("SET threads = 1")
    con.execute("SET memory_limit = '3GB'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    world.generate(scale, seed, con)
    tables: dict[str, dict] = {}
    names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
    for table in sorted(names):
        path = directory / f"{table}.parquet"
        con.execute(f"COPY (SELECT * FROM {table}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        tables[table] = {"rows": rows, "sha256": _sha256(path)}
    con.close()
    build_path.unlink(missing_ok=True)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale.name,
        "seed": seed,
        "anchor": ANCHOR,
        "horizon": HORIZON,
        "seconds": round(time.perf_counter() - started, 2),
        "tables": tables,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return WorldFiles(directory, manifest)


def load_world(files: WorldFiles) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding every table of the world (served read-only).

    `CX360_SANDBOX_MEMORY_LIMIT` (a DuckDB size, "6GB", or share of RAM, "25%") bounds it:
    beyond it DuckDB moves table blocks to a temporary directory (removed on close). The
    `medium` world takes ~11 GB otherwise, and a benchmark runs the whole pipeline beside it.
    """
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # a server's queries print nothing
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    if limit:
        con.execute("SET memory_limit = ?", [limit])
        spill = Path(tempfile.gettempdir()) / f"cx360-sandbox-spill-{os.getpid()}"
        con.execute("SET temp_directory = ?", [str(spill)])
    for table in files.tables:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{files.path(table)}')")
    return con
