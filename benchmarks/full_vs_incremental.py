"""Benchmark: full refresh vs. incremental refresh of the main job (wall time, peak memory).

Full refresh: an empty warehouse → the main job (extract every source, GX quality gates,
dbt build with its tests, publish the BI snapshot, docs and reports) against the sandbox at
its initial clock. Then the sandbox's clock moves one simulated day and the main job runs
again on the same warehouse: the incremental refresh (taps resume from their stored state,
incremental dbt models merge only new rows). Prints both, per stage, and their ratio;
targets (issue 6): full < 10 min on 2 cores at `medium`, incremental < 10 % of full.
Writes benchmarks/results/full_vs_incremental.json (scaling can reuse its full run).

    python -m benchmarks.full_vs_incremental --scale medium --root /tmp/sbx
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.store import DEFAULT_ROOT, generate_world

from .common import print_table, write_result
from .pipeline import STAGES, copy_dbt_project, run_main_job_once, share_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="worlds live here")
    parser.add_argument("--days", type=float, default=1.0, help="simulated days between runs")
    parser.add_argument("--keep", type=Path, default=None, help="keep the data directory here")
    args = parser.parse_args()
    started = time.perf_counter()
    files = generate_world(args.scale, args.seed, root=args.root)
    generation = time.perf_counter() - started
    rows_in_world = sum(table["rows"] for table in files.tables.values())
    runs: dict[str, dict] = {}
    memory_limits = share_memory()
    with tempfile.TemporaryDirectory(prefix="cx360-bench-") as tmp, RunningSandbox(files) as sb:
        root = args.keep or Path(tmp)
        project = copy_dbt_project(Path(tmp) / "dbt_project")
        data_dir = root / "data"
        print(f"[full refresh] scale {args.scale}: {rows_in_world:,} world rows", flush=True)
        runs["full"] = run_main_job_once(sb.url, data_dir, project)
        response = requests.post(
            f"{sb.url}/_sandbox/clock", json={"advance_days": args.days}, timeout=60
        )
        response.raise_for_status()
        print(f"[incremental refresh] {args.days:g} simulated day(s) later", flush=True)
        runs["incremental"] = run_main_job_once(sb.url, data_dir, project)
    full, incremental = runs["full"], runs["incremental"]
    ratio = incremental["seconds"] / full["seconds"]
    table = []
    for name, run in runs.items():
        peak = max(run["peak_rss_mib"].values())
        table.append([name, "ok" if run["success"] else "FAILED", run["records_extracted"],
                      *(run["stages"][s] for s in STAGES), run["seconds"], peak])  # fmt: skip
    print(f"\nfull vs incremental at scale {args.scale} (seed {args.seed}; one simulated day)")
    print_table(["run", "status", "records in", *[f"{s} s" for s in STAGES], "total s",
                 "peak MiB"], table)  # fmt: skip
    print(f"incremental / full = {ratio:.1%} (target < 10 %); full = {full['seconds'] / 60:.1f}"
          " min (target < 10 min at medium on 2 cores)")  # fmt: skip
    for name, run in runs.items():
        if not run["success"]:
            print(f"{name} run failed: {run['failures']}")
    path = write_result(
        "full_vs_incremental",
        {
            "scale": args.scale, "seed": args.seed, "days_between_runs": args.days,
            "world_rows": rows_in_world, "world_generation_seconds": round(generation, 1),
            "full": full, "incremental": incremental, "incremental_to_full": round(ratio, 4),
            "memory_limits": memory_limits,
        },
    )  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
