"""The `tiny` warehouse the dbt, metric-mart and orchestration tests read: the sandbox served
over the tiny world, every tap extracted through cx360.extract (the `cx360 run` machinery),
then `dbt build` through cx360.dbt. Built once per test session (see tests/conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_sandbox.store import WorldFiles

from cx360.dbt import DbtRun, run_dbt
from cx360.extract import extract

PII_SALT = "cx360-tests-salt"
CLOCK = "2026-11-01 00:00:00"
"""The sandbox clock's initial now (timeline.ANCHOR): what the extraction sees."""

# One export request per 30 days of Amplitude uploads: the same data in fewer requests.
TAP_OVERRIDES = {"amplitude": {"window_hours": 720}}


@dataclass
class BuiltWarehouse:
    path: Path
    world: WorldFiles
    target: Path
    """dbt artifacts of this session (manifest.json, run_results.json, catalog.json)."""
    build: DbtRun
    env: dict[str, str]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The warehouse attached read-only, the ground truth as views `gt.<table>`."""
        con = duckdb.connect()
        con.execute(f"ATTACH '{self.path}' AS warehouse (READ_ONLY)")
        con.execute("ATTACH ':memory:' AS gt")
        for table in self.world.tables:
            con.execute(
                f"CREATE VIEW gt.{table} AS SELECT * FROM read_parquet('{self.world.path(table)}')"
            )
        con.execute("USE warehouse")
        return con


def build_tiny_warehouse(world: WorldFiles, root: Path) -> BuiltWarehouse:
    path = root / "tiny.duckdb"
    env = {**sandbox_credentials(), **os.environ, "CX360_PII_SALT": PII_SALT}
    with RunningSandbox(world) as sandbox:
        extract(
            [], path, sandbox_url=sandbox.url, log_dir=root / "logs", env=env,
            config_overrides=TAP_OVERRIDES,
        )  # fmt: skip
    target = root / "target"
    build = run_dbt(
        ["build"], path, target_path=target, env={"CX360_PII_SALT": PII_SALT}, check=False
    )
    return BuiltWarehouse(path, world, target, build, {"CX360_PII_SALT": PII_SALT})
