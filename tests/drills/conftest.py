"""Fixtures for the fault drills (issue 6), all at the `tiny` scale.

Two runs are shared by the drills of a session:

* ``clean_raw`` — one clean extract of every source: the reference raw tables;
* ``drill_pipeline`` — the whole main job (sandbox → extract → GX gates → dbt build →
  publish) with **sentinel credentials** and **20 % API faults**, in its own data directory,
  Dagster instance (SQLite on disk) and copy of the dbt project, so that everything it wrote
  can be scanned afterwards and its marts serve as the clean build.

Both use the same PII salt (a sentinel too), so their raw tables compare row for row.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import SANDBOX_CREDENTIALS
from cx360_sandbox.store import WorldFiles

from cx360.extract import extract
from orchestration.constants import DBT_PROJECT_DIR
from tests.conftest import SandboxControl

SENTINEL_TAG = "sntl7q2x"
SENTINELS: dict[str, str] = {
    name: f"{SENTINEL_TAG}-{name.lower().replace('_', '-')}" for name in SANDBOX_CREDENTIALS
}
SENTINELS["ZENDESK_EMAIL"] = f"{SENTINEL_TAG}-agent@zendesk-drill.example"
"""Every credential (and the PII salt) replaced by a value that cannot occur by accident."""

FAULTS = {
    "rate_429": 0.07, "rate_5xx": 0.07, "rate_drop": 0.03, "rate_truncate": 0.03,
    "retry_after_seconds": 1, "seed": 20,
}  # fmt: skip
"""20 % of API requests fail: 429 with Retry-After, 503, dropped connections, cut bodies."""


def secret_forms() -> dict[str, str]:
    """Each sentinel, plus the encodings a leak would take (HTTP Basic credentials)."""
    s = SENTINELS
    forms = dict(s)
    basic = {
        "Zendesk Basic auth": f"{s['ZENDESK_EMAIL']}/token:{s['ZENDESK_API_TOKEN']}",
        "Delighted Basic auth": f"{s['DELIGHTED_API_KEY']}:",
        "Amplitude Basic auth": f"{s['AMPLITUDE_API_KEY']}:{s['AMPLITUDE_SECRET_KEY']}",
    }
    for name, value in basic.items():
        forms[name] = base64.b64encode(value.encode()).decode()
    return forms


def sentinel_env() -> dict[str, str]:
    return {**os.environ, **SENTINELS}


@contextmanager
def sentinel_sandbox(world: WorldFiles) -> Iterator[RunningSandbox]:
    """A sandbox that accepts only the sentinel credentials."""
    with RunningSandbox(world) as sandbox:
        sandbox.server.state["credentials"] = dict(SENTINELS)
        yield sandbox


@pytest.fixture(scope="session")
def clean_raw(tiny_world: WorldFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every source extracted once, cleanly, at the sandbox's initial clock."""
    root = tmp_path_factory.mktemp("drill-clean")
    warehouse = root / "warehouse.duckdb"
    with sentinel_sandbox(tiny_world) as sandbox:
        extract([], warehouse, sandbox_url=sandbox.url, log_dir=root / "logs", env=sentinel_env())
    return warehouse


@dataclass
class DrillPipeline:
    result: object
    """orchestration.jobs.MainJobResult"""
    root: Path
    data_dir: Path
    warehouse: Path
    dagster_home: Path
    dbt_project: Path
    lines: list[str]
    counters: dict[str, int]
    """The sandbox's request and fault counters after the run."""
    access_tokens: list[str] = field(default_factory=list)
    """Salesforce access tokens the sandbox issued during the run (secrets too)."""
    seconds: float = 0.0

    @property
    def faults(self) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith("faults_"))


@pytest.fixture(scope="session")
def drill_pipeline(
    tiny_world: WorldFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrillPipeline]:
    from dagster import DagsterInstance

    from orchestration.jobs import run_main_job
    from orchestration.resources import sandbox_environment

    root = tmp_path_factory.mktemp("drill-pipeline")
    project = root / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    home = root / "dagster_home"
    home.mkdir()
    lines: list[str] = []
    started = time.perf_counter()
    with (
        DagsterInstance.local_temp(str(home)) as instance,
        sentinel_sandbox(tiny_world) as sandbox,
    ):
        control = SandboxControl(sandbox.url)
        now = control.status()["now"]
        control.faults(**FAULTS)
        env = {**sandbox_environment(sandbox.url, now), **SENTINELS}
        result = run_main_job(
            "tiny", 42, sandbox=False, data_dir=root / "data", dbt_project_dir=project,
            instance=instance, env=env, echo=lines.append,
        )  # fmt: skip
        counters = control.status()["counters"]
        tokens = list(sandbox.server.state["salesforce"]["tokens"])
    yield DrillPipeline(
        result=result, root=root, data_dir=root / "data",
        warehouse=root / "data" / "warehouse.duckdb", dagster_home=home, dbt_project=project,
        lines=lines, counters=counters, access_tokens=tokens,
        seconds=time.perf_counter() - started,
    )  # fmt: skip
