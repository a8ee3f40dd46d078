"""Shared fixtures: a generated `tiny` world and sandbox servers over it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.store import WorldFiles, generate_world

from tests.warehouse import BuiltWarehouse, build_tiny_warehouse

TINY_SEED = 42


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> WorldFiles:
    """The `tiny` world, generated once per test session."""
    return generate_world("tiny", TINY_SEED, root=tmp_path_factory.mktemp("worlds"))


@pytest.fixture(scope="session")
def built_warehouse(
    tiny_world: WorldFiles, tmp_path_factory: pytest.TempPathFactory
) -> BuiltWarehouse:
    """The tiny world extracted and `dbt build`-ed once, shared by every package that reads it."""
    return build_tiny_warehouse(tiny_world, tmp_path_factory.mktemp("warehouse"))


@pytest.fixture
def sandbox(tiny_world: WorldFiles) -> Iterator[RunningSandbox]:
    """A fresh sandbox server per test: its clock, faults and logs start clean."""
    with RunningSandbox(tiny_world) as running:
        yield running


class SandboxControl:
    """Thin client of the sandbox's `/_sandbox` control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def advance(self, hours: float = 0, days: float = 0) -> dict:
        payload = {"advance_hours": hours, "advance_days": days}
        return self._post("clock", payload)

    def faults(self, **settings: object) -> dict:
        return self._post("faults", settings)

    def rate_limits(self, limits: dict[str, list[float]]) -> dict:
        return self._post("rate-limits", limits)

    def corruption(self, **settings: object) -> dict:
        """Serve malformed records (see cx360_sandbox.server.corruption); {} reads the log."""
        if not settings:
            return requests.get(f"{self.url}/_sandbox/corruption", timeout=30).json()
        return self._post("corruption", settings)

    def drift(self, **changes: object) -> dict:
        """Add, drop or widen fields (see cx360_sandbox.server.drift)."""
        return self._post("drift", changes)

    def status(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/status", timeout=10).json()

    def requests_log(self) -> list[dict]:
        return requests.get(f"{self.url}/_sandbox/requests", timeout=10).json()

    def _post(self, what: str, payload: dict) -> dict:
        response = requests.post(f"{self.url}/_sandbox/{what}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def control(sandbox: RunningSandbox) -> SandboxControl:
    return SandboxControl(sandbox.url)


@pytest.fixture
def world_path(tiny_world: WorldFiles) -> Path:
    return tiny_world.directory


_DRILL_FIGURE = re.compile(r"^\S[^:]*\bdrill\b[^:]*:")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each fault drill prints its figure ("dbt kill drill: 20 SIGKILLs …"); pytest captures
    test output, so the figures are repeated here, in every run's summary and CI log."""
    figures = [
        line.strip()
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
        for line in report.capstdout.splitlines()
        if _DRILL_FIGURE.match(line.strip())
    ]
    if figures:
        terminalreporter.write_sep("-", "fault drill figures")
        for figure in figures:
            terminalreporter.write_line(figure)
