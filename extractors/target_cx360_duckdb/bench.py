"""Throughput check: ``python -m target_cx360_duckdb.bench [N]`` (default 1,000,000).

Feeds N simple RECORD lines (10 typed properties, integer key > 2^31, a STATE every 50k)
through ``DuckDBLoader.process_line`` into a fresh temp database and prints records/s.
Line generation is excluded from the timing. On a shared 2-core machine the result moves
with other load (measured 165k-240k rec/s when quiet).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from target_cx360_duckdb.loader import DuckDBLoader

SCHEMA_MESSAGE = {
    "type": "SCHEMA",
    "stream": "tickets",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "subject": {"type": ["null", "string"]},
            "status": {"type": ["null", "string"]},
            "priority": {"type": ["null", "string"]},
            "requester_id": {"type": ["null", "integer"]},
            "created_at": {"type": ["null", "string"], "format": "date-time"},
            "updated_at": {"type": ["null", "string"], "format": "date-time"},
            "score": {"type": ["null", "number"]},
            "amount": {"type": ["null", "number"], "multipleOf": 0.01},
            "tags": {"type": ["null", "array"]},
        }
    },
}


def lines(n: int) -> list[bytes]:
    out = [json.dumps(SCHEMA_MESSAGE).encode()]
    for i in range(n):
        record = {
            "id": 10_000_000_000 + i,
            "subject": f"Ticket {i} about things",
            "status": "open",
            "priority": "high",
            "requester_id": i % 5000,
            "created_at": "2024-01-01T12:34:56Z",
            "updated_at": "2024-03-01T12:34:56.000+0000",
            "score": i * 0.5,
            "amount": 19.99,
            "tags": ["a", "b"],
        }
        message = {"type": "RECORD", "stream": "tickets", "record": record}
        message["time_extracted"] = "2024-05-05T00:00:00Z"
        out.append(json.dumps(message).encode())
        if i % 50_000 == 0:
            out.append(b'{"type":"STATE","value":{"bookmarks":{"tickets":%d}}}' % i)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 1_000_000
    data = lines(n)
    with tempfile.TemporaryDirectory(prefix="cx360-bench-") as tmp:
        started = time.perf_counter()
        loader = DuckDBLoader(Path(tmp) / "bench.duckdb", "raw_bench")
        for line in data:
            loader.process_line(line)
        loader.close()
        elapsed = time.perf_counter() - started
    print(f"{n:,} records in {elapsed:.2f}s: {n / elapsed:,.0f} records/s")
    print(loader.stats_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
