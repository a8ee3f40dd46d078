"""Run the cx360 dbt project in-process (``dbtRunner``) against a given DuckDB warehouse.

Used by ``cx360 run``, Dagster and the tests::

    from cx360.dbt import run_dbt

    run = run_dbt(["build"], warehouse=Path(".cx360/warehouse.duckdb"))
    run.success, run.seconds, [r.name for r in run.results]

The warehouse path reaches ``dbt_project/profiles.yml`` through ``CX360_WAREHOUSE`` (set for
the duration of the call, then restored); ``--project-dir`` and ``--profiles-dir`` point at
``dbt_project/``. A failed node (model error, failing test, unit-test diff) raises
:class:`DbtError` naming every failing node and its message, unless ``check=False``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
"""The dbt project (also its profiles directory)."""

WAREHOUSE_VARIABLE = "CX360_WAREHOUSE"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

_LOCK = threading.Lock()  # dbt keeps global state; one invocation per process at a time


@dataclass(frozen=True)
class NodeResult:
    """One node of a dbt invocation (model, seed, data test, unit test, …)."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str | None
    seconds: float
    failures: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass
class DbtRun:
    """What a dbt invocation did."""

    args: list[str]
    success: bool
    seconds: float
    results: list[NodeResult] = field(default_factory=list)
    exception: BaseException | None = None
    raw: Any = None
    """The ``dbtRunnerResult.result`` (RunExecutionResult, Manifest, CatalogArtifact, …)."""

    @property
    def failed(self) -> list[NodeResult]:
        return [result for result in self.results if result.failed]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts


class DbtError(RuntimeError):
    """dbt failed; ``run.failed`` lists the failing nodes."""

    def __init__(self, run: DbtRun) -> None:
        self.run = run
        lines = [f"dbt {' '.join(run.args)} failed after {run.seconds:.1f}s"]
        if run.exception is not None:
            lines.append(f"  {type(run.exception).__name__}: {run.exception}")
        for node in run.failed:
            message = (node.message or "").strip().replace("\n", "\n      ")
            lines.append(f"  {node.status.upper()} {node.resource_type} {node.name}: {message}")
        if run.exception is None and not run.failed:
            lines.append("  (no failing node reported; see the dbt log)")
        super().__init__("\n".join(lines))


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in-process after an invocation.

    dbt-duckdb caches one database instance per process (``DuckDBConnectionManager._ENV``);
    left open, it blocks every other connection to the file with different settings (a
    read-only reader, the extract loader, the BI snapshot) until the process exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            with contextlib.suppress(Exception):
                environment.close()


def _node_results(raw: Any) -> list[NodeResult]:
    results = []
    for item in getattr(raw, "results", None) or []:
        node = getattr(item, "node", None)
        if node is None:
            continue
        status = getattr(item.status, "value", item.status)
        results.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
                status=str(status),
                message=item.message,
                seconds=float(item.execution_time or 0.0),
                failures=item.failures,
            )
        )
    return results


def run_dbt(
    args: Sequence[str],
    warehouse: Path | str,
    *,
    project_dir: Path | str = PROJECT_DIR,
    target_path: Path | str | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    quiet: bool = True,
) -> DbtRun:
    """Run ``dbt <args>`` on ``warehouse`` and return what happened.

    ``target_path`` keeps artifacts (manifest.json, catalog.json, compiled SQL, logs) out of
    the project's own ``target/`` — use it when several builds may run at once.
    ``dbt_vars`` become ``--vars``; ``env`` adds environment variables for the call (e.g.
    ``CX360_PII_SALT``). With ``check`` (the default), raise :class:`DbtError` when the
    invocation fails or any node errors or fails.
    """
    from dbt.cli.main import dbtRunner

    project = Path(project_dir).resolve()
    cli = [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
    if target_path is not None:
        target = Path(target_path).resolve()
        cli += ["--target-path", str(target), "--log-path", str(target / "logs")]
    if dbt_vars:
        cli += ["--vars", json.dumps(dict(dbt_vars))]
    if quiet:
        cli += ["--quiet"]
    variables = {WAREHOUSE_VARIABLE: str(Path(warehouse).resolve()), **(env or {})}
    started = time.perf_counter()
    with _LOCK, _environment(variables):
        try:
            outcome = dbtRunner().invoke(cli)
        finally:
            _release_warehouse()
    run = DbtRun(
        args=list(args),
        success=bool(outcome.success),
        seconds=time.perf_counter() - started,
        results=_node_results(outcome.result),
        exception=outcome.exception,
        raw=outcome.result,
    )
    if run.failed:
        run.success = False
    if check and not run.success:
        raise DbtError(run)
    return run


def build(warehouse: Path | str, **options: Any) -> DbtRun:
    """``dbt build`` (seeds, models, snapshots, data and unit tests) on ``warehouse``."""
    return run_dbt(["build"], warehouse, **options)
