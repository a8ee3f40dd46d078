"""The main job as a benchmark subject: one run in a fresh process, timed per stage.

Shared by ``full_vs_incremental`` and ``scaling``. A run is the whole main job
(:func:`orchestration.jobs.run_main_job`: extract every source → GX quality gates → dbt build
with its tests → publish the BI snapshot, dbt docs, quality and CX reports) against a sandbox
the caller runs, so the caller can move the sandbox's clock between runs. Each run gets a
process of its own (``spawn``), so its peak memory is its own; the dbt project is a copy, so
a benchmark never writes into the repository's ``dbt_project/target``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import resource
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

STAGES = ("extract", "quality gates", "dbt build", "publish")
MEMORY_LIMITS = {"CX360_SANDBOX_MEMORY_LIMIT": "9GB", "CX360_DBT_MEMORY_LIMIT": "5GB"}
"""DuckDB memory limits while a benchmark runs the sandbox and the pipeline on one machine.
Each DuckDB defaults to 80 % of RAM as if alone; at `medium` the sandbox's world (~11 GB),
the job process and dbt together then outgrow 23.5 GiB and the kernel kills dbt. At 6 GB the
sandbox itself runs out of memory answering Amplitude exports (HTTP 500s the tap retries)."""


def share_memory() -> dict[str, str]:
    """Set `MEMORY_LIMITS` (unless already set in the environment, which wins) before the
    sandbox starts, for it and for the job processes it spawns; returns what is in force."""
    for name, value in MEMORY_LIMITS.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in MEMORY_LIMITS}


def stage_of(step: str) -> str:
    if step.startswith("extract_"):
        return "extract"
    if step.startswith(("gx_", "check_")) or "freshness" in step:
        return "quality gates"
    if step.startswith("dbt"):
        return "dbt build" if step == "dbt_models" else "publish"
    return "publish"


def stage_seconds(steps: dict[str, float]) -> dict[str, float]:
    stages = dict.fromkeys(STAGES, 0.0)
    for step, seconds in steps.items():
        stages[stage_of(step)] += seconds
    return {stage: round(seconds, 1) for stage, seconds in stages.items()}


def copy_dbt_project(target: Path) -> Path:
    from orchestration.constants import DBT_PROJECT_DIR

    shutil.copytree(
        DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    return target


def table_rows(warehouse: Path) -> dict[str, int]:
    """Rows per schema: raw_* (the pipeline's input) and what dbt built."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows: dict[str, int] = {}
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()"
            " WHERE NOT starts_with(table_name, '_') AND NOT starts_with(schema_name, '_')"
        ).fetchall():
            count = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            rows[schema] = rows.get(schema, 0) + count
        return rows
    finally:
        con.close()


class _RssSampler(threading.Thread):
    """This process's resident memory, sampled twice a second while the job runs: the
    steps run one after another in this process, so each step's peak is the greatest
    sample inside its start and end (a step shorter than a sample may show none)."""

    def __init__(self) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.samples: list[tuple[float, float]] = []
        self._finished = threading.Event()

    def run(self) -> None:
        while not self._finished.wait(0.5):
            self.samples.append((time.time(), _rss_mib()))

    def stop(self) -> None:
        self._finished.set()
        self.join()

    def step_peaks(self, instance: Any, run_id: str) -> dict[str, int]:
        from dagster import DagsterEventType

        started: dict[str, float] = {}
        peaks: dict[str, int] = {}
        ends = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            elif event.event_type in ends and event.step_key in started:
                window = [
                    rss for at, rss in self.samples
                    if started[event.step_key] <= at <= record.timestamp
                ]  # fmt: skip
                if window:
                    peaks[event.step_key] = round(max(window))
        return peaks


def _rss_mib() -> float:
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _run(env: dict[str, str], data_dir: str, project: str, queue: Any) -> None:
    """In the child process: the main job once, then what it did."""
    from dagster import AssetKey, DagsterInstance

    from orchestration.constants import SOURCE_STREAMS, raw_asset_path
    from orchestration.jobs import run_main_job

    sampler = _RssSampler()
    sampler.start()
    with DagsterInstance.ephemeral() as instance:
        result = run_main_job(
            sandbox=False, data_dir=Path(data_dir), dbt_project_dir=Path(project),
            instance=instance, env=env, echo=lambda line: print(line, flush=True),
        )  # fmt: skip
        records = 0
        for source, streams in SOURCE_STREAMS.items():
            for stream in streams:
                event = instance.get_latest_materialization_event(
                    AssetKey(raw_asset_path(source, stream))
                )
                if event is not None and event.run_id == result.run_id:
                    records += event.asset_materialization.metadata["records"].value
        sampler.stop()
        step_peaks = sampler.step_peaks(instance, result.run_id)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put({
        "success": result.success, "seconds": round(result.seconds, 1),
        "steps": result.step_seconds, "failures": result.failures,
        "records_extracted": records,
        "peak_rss_mib": {"main_job_process": round(own), "largest_subprocess": round(children)},
        "step_peak_rss_mib": step_peaks,
    })  # fmt: skip


def run_main_job_once(
    sandbox_url: str, data_dir: Path, project: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The main job against `sandbox_url` (its clock now), in a fresh process."""
    import requests

    from orchestration.resources import sandbox_environment

    now = requests.get(f"{sandbox_url}/_sandbox/status", timeout=30).json()["now"]
    values = {**sandbox_environment(sandbox_url, now), **(env or {})}
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    started = time.perf_counter()
    process = ctx.Process(target=_run, args=(values, str(data_dir), str(project), queue))
    process.start()
    outcome = None
    while outcome is None:
        try:
            outcome = queue.get(timeout=5)
        except queue_module.Empty:
            if not process.is_alive():  # died without a result: say so, never wait forever
                raise RuntimeError(
                    f"the main job's process exited with code {process.exitcode} before "
                    "reporting (its traceback is above)"
                ) from None
    process.join()
    outcome["process_seconds"] = round(time.perf_counter() - started, 1)
    outcome["stages"] = stage_seconds(outcome["steps"])
    outcome["sandbox_now"] = now
    outcome["rows"] = table_rows(data_dir / "warehouse.duckdb")
    return outcome
