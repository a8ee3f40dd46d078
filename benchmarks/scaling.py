"""Benchmark: how the main job's cost grows with the data (tiny → demo → medium).

For each scale, a full refresh of the main job (see benchmarks.pipeline) on an empty
warehouse: seconds per stage against the rows that stage takes in (records extracted for
the extract, raw rows for the gates and dbt, rows dbt built for publishing), and from one
scale to the next the growth of time against the growth of rows (≤ 1 means linear or better).
`--reuse` takes a scale's full run from benchmarks/results/full_vs_incremental.json (or an
earlier scaling.json) instead of running it again (same scale and seed). Writes
benchmarks/results/scaling.json.

    python -m benchmarks.scaling --scale tiny --scale demo --scale medium --root /tmp/sbx --reuse
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.store import DEFAULT_ROOT, generate_world

from .common import RESULTS, print_table, write_result
from .pipeline import copy_dbt_project, run_main_job_once, share_memory


def _inputs(run: dict) -> dict[str, int]:
    raw = sum(rows for schema, rows in run["rows"].items() if schema.startswith("raw_"))
    built = sum(rows for schema, rows in run["rows"].items() if not schema.startswith("raw_"))
    return {"extract": run["records_extracted"], "quality gates": raw, "dbt build": raw,
            "publish": built}  # fmt: skip


def _reused(scale: str, seed: int) -> dict | None:
    """A full run of `scale` measured before: full_vs_incremental's, else an earlier
    scaling run's."""
    path = RESULTS / "full_vs_incremental.json"
    if path.exists():
        document = json.loads(path.read_text())
        if document.get("scale") == scale and document.get("seed") == seed:
            return {**document["full"], "reused_from": "full_vs_incremental.json"}
    path = RESULTS / "scaling.json"
    if path.exists():
        document = json.loads(path.read_text())
        if document.get("seed") == seed and scale in document.get("scales", {}):
            return {"reused_from": "scaling.json", **document["scales"][scale]}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="append", help="default: tiny, demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="worlds live here")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    scales = args.scale or ["tiny", "demo"]
    runs: dict[str, dict] = {}
    memory_limits = share_memory()
    for scale in scales:
        run = _reused(scale, args.seed) if args.reuse else None
        if run is None:
            files = generate_world(scale, args.seed, root=args.root)
            with (
                tempfile.TemporaryDirectory(prefix="cx360-bench-") as tmp,
                RunningSandbox(files) as sandbox,
            ):
                project = copy_dbt_project(Path(tmp) / "dbt_project")
                print(f"[{scale}] full refresh", flush=True)
                run = run_main_job_once(sandbox.url, Path(tmp) / "data", project)
        run["inputs"] = _inputs(run)
        runs[scale] = run
    rows, previous = [], None
    for scale, run in runs.items():
        for stage, seconds in run["stages"].items():
            count = run["inputs"][stage]
            if not seconds and not run.get("success", True):
                rows.append([scale, stage, count, "not run", "", "(the run failed before it)"])
                continue
            growth = ""
            if previous is not None and previous["stages"][stage] and previous["inputs"][stage]:
                # time growth over row growth: <= 1 is linear or better
                time_growth = seconds / previous["stages"][stage]
                row_growth = count / previous["inputs"][stage]
                growth = f"{time_growth:.1f}x time / {row_growth:.1f}x rows"
            rate = round(count / seconds) if seconds else 0
            rows.append([scale, stage, count, seconds, rate, growth])
        rows.append([scale, "total (wall)", run["inputs"]["extract"], run["seconds"], "", ""])
        previous = run
    print("\nscaling: a full refresh of the main job per scale")
    print_table(["scale", "stage", "input rows", "seconds", "rows/s", "vs previous scale"], rows)
    path = write_result(
        "scaling", {"seed": args.seed, "scales": runs, "memory_limits": memory_limits}
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
