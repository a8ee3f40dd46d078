"""``target-cx360-duckdb --config c.json``: Singer messages on stdin, STATE lines on stdout.

Each STATE value is printed (one JSON line) only after the transaction that persisted it
and every record received before it has committed. Stats and errors go to stderr; the exit
status is 1 on bad input or a failed flush (everything committed before stays committed).

Config keys: ``database`` (path, required), ``schema`` (required, e.g. ``raw_salesforce``),
``batch_size_rows`` (default 100000), ``spool_dir`` (default ``.cx360-spool`` beside the
database), ``state_key`` (default: the schema name).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from target_cx360_duckdb.loader import DuckDBLoader, LoaderError


def _emit_state(state: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(state, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="target-cx360-duckdb", description="Load Singer messages into DuckDB."
    )
    parser.add_argument("--config", "-c", required=True, type=Path, help="JSON config file")
    parser.add_argument(
        "--input", type=Path, default=None, help="read messages from this file, not stdin"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        config = json.loads(args.config.read_text())
        loader = DuckDBLoader.from_config(config, on_state=_emit_state)
    except (OSError, ValueError, LoaderError) as exc:
        print(f"target-cx360-duckdb: error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        if args.input is not None:
            with args.input.open("rb") as fh:
                loader.process_lines(fh)
        else:
            loader.process_lines(sys.stdin.buffer)
        loader.close()
    except LoaderError as exc:
        loader.abort()
        print(f"target-cx360-duckdb: error: {exc}", file=sys.stderr)
        return 1
    except BaseException:
        loader.abort()
        raise
    elapsed = time.perf_counter() - started
    total = sum(s.records for s in loader.stats.values())
    print(loader.stats_table(), file=sys.stderr)
    print(
        f"target-cx360-duckdb: {total} records in {elapsed:.2f}s "
        f"({total / elapsed if elapsed else 0:,.0f} rec/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
