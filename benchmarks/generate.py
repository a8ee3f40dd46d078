"""Benchmark: how fast the sandbox generates each scale (rows/s, seconds, peak memory).

python -m benchmarks.generate --scale medium
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cx360_sandbox.store import generate_world

from .common import peak_rss_mib, print_table, timed, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="append", help="scale(s) to generate (default: demo)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, default=None, help="keep worlds here (default: temp)")
    args = parser.parse_args()
    scales = args.scale or ["demo"]
    rows_out: list[list[object]] = []
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or Path(scratch)
        for scale in scales:
            with timed() as timer:
                files = generate_world(scale, args.seed, root=root, force=True)
            rows = sum(t["rows"] for t in files.tables.values())
            biggest = {
                name: files.tables[name]["rows"]
                for name in ("sf_accounts", "sf_contacts", "zd_tickets", "qx_responses",
                             "dl_survey_responses", "amp_events", "zd_ticket_events")
            }  # fmt: skip
            rate = rows / timer.seconds
            rows_out.append([scale, rows, round(timer.seconds, 1), round(rate), peak_rss_mib()])
            results[scale] = {
                "rows": rows, "seconds": round(timer.seconds, 2), "rows_per_second": round(rate),
                "peak_rss_mib": peak_rss_mib(), "tables": biggest,
            }  # fmt: skip
    print_table(["scale", "rows", "seconds", "rows/s", "peak MiB"], rows_out)
    print(f"results: {write_result('generate', {'scales': results})}")


if __name__ == "__main__":
    main()
