"""The one-command main job: sandbox → extract → quality gates → dbt build → publish.

:func:`run_main_job` is what ``cx360 run`` (and ``make demo``) calls. It starts the sandbox,
points every source at it (the sandbox is just another set of environment values), prepares the
dbt manifest, and runs the ``cx360_main`` Dagster job in this one process (in-process executor:
no per-step interpreter start-up). Runs are recorded in the Dagster instance of ``DAGSTER_HOME``
(or ``./dagster.yaml``), so ``dagster dev`` shows them afterwards. It prints progress as it goes
and, at the end, where every artefact is. Re-running is safe and incremental: taps resume from
the state stored in the warehouse.

Against real APIs pass ``sandbox=False``: credentials and base URLs come from the environment,
and a missing variable fails fast with one message listing all of them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cx360.extract import MissingEnvironmentError
from orchestration import progress
from orchestration.constants import DEFAULT_DATA_DIR, REPO_ROOT

MAIN_JOB = "cx360_main"
PID_TAG, HOST_TAG = "cx360/pid", "cx360/host"


@dataclass
class MainJobResult:
    success: bool
    run_id: str | None
    seconds: float
    artefacts: dict[str, Path] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    quality_failures: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def default_instance():
    """DAGSTER_HOME's instance, else ./dagster.yaml's, else an ephemeral one."""
    from dagster import DagsterInstance

    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    if (Path.cwd() / "dagster.yaml").exists():
        return DagsterInstance.from_config(str(Path.cwd()))
    return DagsterInstance.ephemeral()


def _release_dead_runs(instance) -> None:
    """Runs of earlier main jobs whose process died (Ctrl-C, kill) still hold the duckdb pool
    slot: mark them failed and free their slots, or this run would wait for them forever."""
    from dagster import DagsterRunStatus, RunsFilter

    runs = instance.get_runs(
        RunsFilter(
            job_name=MAIN_JOB, statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING]
        )
    )
    for run in runs:
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if not pid or host != socket.gethostname() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, "the process running it is gone (interrupted or killed)")
        with contextlib.suppress(Exception):
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def artefact_paths(data_dir: Path, warehouse: Path) -> dict[str, Path]:
    reports = data_dir / "reports"
    return {
        "warehouse": warehouse,
        "BI snapshot (DuckDB)": data_dir / "bi" / "cx360_bi.duckdb",
        "BI snapshot (Parquet)": data_dir / "bi" / "parquet" / "current",
        "dbt docs": reports / "dbt_docs" / "index.html",
        "quality report": reports / "quality" / "index.html",
        "GX Data Docs": data_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html",
        "CX report": reports / "cx" / "index.html",
        "logs": data_dir / "logs",
    }


def run_main_job(
    scale: str = "demo",
    seed: int = 42,
    *,
    warehouse: Path | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
    world_root: Path | None = None,
    sandbox: bool = True,
    dbt_project_dir: Path | None = None,
    echo: Callable[[str], None] | None = None,
    instance=None,
    env: Mapping[str, str] | None = None,
) -> MainJobResult:
    """Run the whole pipeline once; returns what happened and where the artefacts are.

    ``env`` adds environment values for this run (e.g. credentials); with ``sandbox=True``
    the sandbox's URLs and credentials are used for every source not given in ``env``.
    """
    terminal = sys.stdout  # bound now: during the run, stdout (dbt's log) goes to a file
    if echo is None:

        def echo(message: str) -> None:
            print(message, file=terminal, flush=True)

    else:
        given = echo

        def echo(message: str) -> None:  # e.g. typer.echo, which writes to sys.stdout
            with contextlib.redirect_stdout(terminal):
                given(message)

    started = time.perf_counter()
    data_dir = Path(data_dir).resolve()
    warehouse = Path(warehouse).resolve() if warehouse else data_dir / "warehouse.duckdb"
    values = {"CX360_DATA_DIR": str(data_dir), "CX360_WAREHOUSE": str(warehouse), **(env or {})}
    previous_sink = progress.set_sink(echo)
    try:
        with contextlib.ExitStack() as stack:
            if sandbox:
                values = _start_sandbox(stack, scale, seed, world_root, values, echo)
            else:
                echo("[1/4] sources: real APIs (credentials and base URLs from the environment)")
            stack.enter_context(_environment(values))
            from orchestration.resources import missing_environment

            missing = missing_environment()
            if missing:
                raise MissingEnvironmentError(
                    "missing environment variables: " + ", ".join(missing)
                )
            return _run(started, data_dir, warehouse, dbt_project_dir, instance, echo)
    finally:
        progress.set_sink(previous_sink)


def _start_sandbox(stack, scale, seed, world_root, values, echo) -> dict[str, str]:
    import requests
    from cx360_sandbox.server.core import RunningSandbox
    from cx360_sandbox.store import DEFAULT_ROOT, generate_world

    from orchestration.resources import sandbox_environment

    echo(f"[1/4] sandbox: the {scale} company (seed {seed}), generated once and reused")
    t0 = time.perf_counter()
    files = generate_world(scale, seed, root=Path(world_root) if world_root else DEFAULT_ROOT)
    running = stack.enter_context(RunningSandbox(files))
    now = requests.get(f"{running.url}/_sandbox/status", timeout=30).json()["now"]
    echo(f"      serving Salesforce, Zendesk, Qualtrics, Delighted, Amplitude at {running.url}"
         f" (simulated now {now}; {time.perf_counter() - t0:.1f}s)")  # fmt: skip
    # the sandbox is just another set of values; explicit ones (env) win
    return {**sandbox_environment(running.url, now), **values}


def _run(started, data_dir, warehouse, dbt_project_dir, instance, echo) -> MainJobResult:
    from dagster import DagsterEventType

    from orchestration import quality_report
    from orchestration.definitions import build_definitions

    echo("[2/4] definitions: dbt parse, Dagster assets and checks")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        defs = build_definitions(dbt_project_dir, parse_dbt=True)
        job = defs.resolve_job_def(MAIN_JOB)
    graph = defs.resolve_asset_graph()
    echo(
        f"      {len(list(graph.get_all_asset_keys()))} assets, {len(list(graph.asset_check_keys))}"
        f" checks ({time.perf_counter() - t0:.1f}s)"
    )
    echo("[3/4] run: extract every source → quality gates → dbt build → publish")
    instance = instance or default_instance()
    _release_dead_runs(instance)
    run_log = data_dir / "logs" / "main-job.log"
    run_log.parent.mkdir(parents=True, exist_ok=True)
    echo(f"      step output (dbt's log, …) → {run_log}")
    with (
        warnings.catch_warnings(),
        run_log.open("a", encoding="utf-8") as log_file,
        contextlib.redirect_stdout(log_file),
    ):
        warnings.simplefilter("ignore")
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={
                PID_TAG: str(os.getpid()),
                HOST_TAG: socket.gethostname(),
                "cx360/trigger": "cli",
            },
        )
    outcome = MainJobResult(success=result.success, run_id=result.run_id, seconds=0.0)
    retried: dict[str, object] = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            retried[event.step_key or "?"] = event.event_specific_data.error
        if event.event_type == DagsterEventType.STEP_FAILURE:
            outcome.failed_steps.append(event.step_key or "?")
            error = retried.get(event.step_key or "?") or event.step_failure_data.error
            while error is not None and error.cause is not None:  # the user code's own error
                error = error.cause
            message = error.message.strip().splitlines() if error else ["(no error message)"]
            outcome.failures.append(f"{event.step_key}: {message[0]}" + (
                "" if len(message) == 1 else " " + " ".join(m.strip() for m in message[1:4])))  # fmt: skip
        elif event.event_type == DagsterEventType.STEP_SKIPPED:
            outcome.skipped_steps.append(event.step_key or "?")
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            outcome.step_seconds[event.step_key or "?"] = round(
                event.event_specific_data.duration_ms / 1000, 1
            )
    skipped = {s for s in _unexecuted(result, job)}
    outcome.skipped_steps = sorted(set(outcome.skipped_steps) | skipped)
    # the quality report says which expectation failed, even when the run stopped early
    report = quality_report.render(data_dir)
    outcome.quality_failures = quality_report.failure_lines(data_dir)
    outcome.artefacts = artefact_paths(data_dir, warehouse)
    outcome.artefacts["quality report"] = report
    outcome.seconds = time.perf_counter() - started
    _print_summary(outcome, echo)
    return outcome


def _unexecuted(result, job) -> list[str]:
    executed = {e.step_key for e in result.all_events if e.step_key}
    return [node.name for node in job.graph.node_defs if node.name not in executed]


def _print_summary(outcome: MainJobResult, echo: Callable[[str], None]) -> None:
    status = "done" if outcome.success else "FAILED"
    echo(f"[4/4] {status} in {outcome.seconds:.0f}s (Dagster run {outcome.run_id})")
    if outcome.step_seconds:
        steps = sorted(outcome.step_seconds.items(), key=lambda item: -item[1])
        echo("  steps: " + ", ".join(f"{key} {seconds:.0f}s" for key, seconds in steps))
    if not outcome.success:
        for line in outcome.failures:
            echo(f"  failed step {line}")
        if outcome.quality_failures:
            echo("  quality gates:")
            for line in outcome.quality_failures:
                echo("  " + line)
        if outcome.skipped_steps:
            echo(f"  not run (upstream failed): {', '.join(outcome.skipped_steps)}")
        echo("  The marts were not rebuilt from failed inputs; the last good BI snapshot and "
             "reports stay published.")  # fmt: skip
    echo("Artefacts:")
    for name, path in outcome.artefacts.items():
        state = "" if path.exists() else "  (not produced yet)"
        echo(f"  {name:22} {_url(path) if path.suffix == '.html' else path}{state}")
    echo("Dagster UI (runs, lineage, checks, schedules):")
    echo(f"  cd {REPO_ROOT} && DAGSTER_HOME=$PWD {Path(sys.executable).parent}/dagster dev"
         " -m orchestration.definitions")  # fmt: skip
    echo("  then open http://127.0.0.1:3000")


def _url(path: Path) -> str:
    return path.resolve().as_uri()
