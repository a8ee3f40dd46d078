"""One `tiny` warehouse for the CX metric-mart tests: the sandbox served over the tiny world,
every tap extracted through cx360.extract, then `dbt build` through cx360.dbt (the same
recipe as tests/dbt, which builds its own copy; a session-wide shared fixture would let the
two packages share one build)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_sandbox.store import WorldFiles

from cx360.dbt import DbtRun, run_dbt
from cx360.extract import extract

PII_SALT = "cx360-metrics-tests-salt"
TAP_OVERRIDES = {"amplitude": {"window_hours": 720}}


@dataclass
class MetricsWarehouse:
    path: Path
    world: WorldFiles
    target: Path
    build: DbtRun
    env: dict[str, str]

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The warehouse read-only, with the generator's ground truth as views `gt.<table>`."""
        con = duckdb.connect()
        con.execute(f"ATTACH '{self.path}' AS warehouse (READ_ONLY)")
        con.execute("ATTACH ':memory:' AS gt")
        for table in self.world.tables:
            con.execute(
                f"CREATE VIEW gt.{table} AS SELECT * FROM read_parquet('{self.world.path(table)}')"
            )
        con.execute("USE warehouse")
        return con


@pytest.fixture(scope="session")
def metrics_warehouse(
    tiny_world: WorldFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsWarehouse]:
    root = tmp_path_factory.mktemp("metrics")
    path = root / "tiny.duckdb"
    env = {**sandbox_credentials(), **os.environ, "CX360_PII_SALT": PII_SALT}
    with RunningSandbox(tiny_world) as sandbox:
        extract(
            [], path, sandbox_url=sandbox.url, log_dir=root / "logs", env=env,
            config_overrides=TAP_OVERRIDES,
        )  # fmt: skip
    target = root / "target"
    build = run_dbt(
        ["build"], path, target_path=target, env={"CX360_PII_SALT": PII_SALT}, check=False
    )
    yield MetricsWarehouse(path, tiny_world, target, build, {"CX360_PII_SALT": PII_SALT})
