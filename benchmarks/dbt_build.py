"""Benchmark: `dbt build` alone on an existing warehouse (first build, then a rerun).

For when the main job cannot reach dbt (e.g. a blocking quality gate fails) or to see the
dbt stage on its own: the first build creates every model from the raw tables; the rerun,
with no new raw rows, is the floor of an incremental build. Works on a copy of the
warehouse (the original is not modified). Writes benchmarks/results/dbt_build.json.

    python -m benchmarks.dbt_build --warehouse /tmp/bench/data/warehouse.duckdb --label medium
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from cx360_sandbox.server.credentials import sandbox_credentials

from cx360.dbt import run_dbt

from .common import peak_rss_mib, print_table, write_result
from .pipeline import copy_dbt_project, table_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--label", default="", help="e.g. the scale the warehouse holds")
    parser.add_argument("--exclude", nargs="*", default=[], help="dbt --exclude selectors")
    parser.add_argument("--once", action="store_true", help="first build only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cx360-bench-dbt-", dir=args.warehouse.parent) as tmp:
        warehouse = Path(tmp) / "warehouse.duckdb"
        shutil.copy(args.warehouse, warehouse)
        project = copy_dbt_project(Path(tmp) / "dbt_project")
        raw = sum(n for schema, n in table_rows(warehouse).items() if schema.startswith("raw_"))
        env = {"CX360_PII_SALT": sandbox_credentials()["CX360_PII_SALT"]}  # the taps' salt
        runs = {}
        exclude = ["--exclude", *args.exclude] if args.exclude else []
        for name in ("first build", "rerun, no new rows")[: 1 if args.once else 2]:
            run = run_dbt(["build", *exclude], warehouse, project_dir=project,
                          target_path=Path(tmp) / "target", env=env, check=False)  # fmt: skip
            runs[name] = {"seconds": round(run.seconds, 1), "success": run.success,
                          "nodes": run.summary()}  # fmt: skip
            print(f"{name}: {run.seconds:.0f}s {run.summary()}", flush=True)
        built = sum(
            n for schema, n in table_rows(warehouse).items() if not schema.startswith("raw_")
        )
    print(
        f"\ndbt build on {args.label or args.warehouse} ({raw:,} raw rows → {built:,} rows built)"
    )
    print_table(["run", "seconds", "ok", "nodes"],
                [[k, v["seconds"], "yes" if v["success"] else "no", v["nodes"]] for k, v in runs.items()])  # fmt: skip
    path = write_result("dbt_build", {"label": args.label, "excluded": args.exclude,
                                      "raw_rows": raw, "built_rows": built,
                                      "runs": runs, "peak_rss_mib": peak_rss_mib()})  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
