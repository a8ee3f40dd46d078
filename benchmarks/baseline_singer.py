"""Baseline: a plain singer-sdk tap piped into a row-by-row target (what a Meltano user gets).

The tap is ours with ``batch_mode: false``, so it writes one Singer RECORD message per row to
stdout, as a generic singer-sdk tap does, and the HTTP side is the same as in the other
columns of ``extract_load``. The target, :class:`RowByRowTarget`, is the singer-sdk
``Target``/``BatchSink`` machinery generic SDK SQL targets are built on: it reads the
messages from an OS pipe (tap and target are separate processes, like ``meltano run tap
target``), validates each record against its JSON schema, and every 10,000 records upserts
them with one parameterised statement per row (``executemany``) in one transaction, as an
SQLAlchemy-based SDK target does. Records/s is measured end to end, like ours.

Row-by-row loading into DuckDB runs at hundreds of records/s, so on big streams the baseline
is stopped after ``limit_seconds`` (the tap is terminated, the target commits what it has
and exits) and the rate is that of the rows it committed in that time.

    python -m benchmarks.baseline_singer --scale demo --stream zendesk.tickets
    python -m benchmarks.extract_load --baseline      # as a third column next to ours

Writes benchmarks/results/baseline_singer.json when run on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from target_cx360_duckdb.coltypes import JSON, columns_for_schema

from cx360.extract import SOURCES, _select_streams, _tap_executable, tap_config

DEFAULT_STREAMS = ["zendesk.tickets", "zendesk.ticket_events", "amplitude.events"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class RowSink(BatchSink):
    """One INSERT OR REPLACE per record (after singer-sdk's per-record validation), one
    transaction per batch."""

    MAX_SIZE_DEFAULT = 10_000

    def __init__(self, target: Target, stream_name: str, schema: dict, key_properties) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.con: duckdb.DuckDBPyConnection = target.connection  # type: ignore[attr-defined]
        self.types = columns_for_schema(schema.get("properties", {}))
        columns = [f"{_quote(c)} {t}" for c, t in self.types.items()]
        if key_properties:
            columns.append(f"PRIMARY KEY ({', '.join(_quote(k) for k in key_properties)})")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {_quote(stream_name)} ({', '.join(columns)})")
        marks = ", ".join("?" for _ in self.types)
        verb = "INSERT OR REPLACE" if key_properties else "INSERT"
        self.sql = f"{verb} INTO {_quote(stream_name)} VALUES ({marks})"

    def process_batch(self, context: dict) -> None:
        rows = []
        for record in context.get("records", []):
            values = []
            for column, kind in self.types.items():
                value = record.get(column)
                if value is not None and (kind == JSON or isinstance(value, dict | list)):
                    value = json.dumps(value, default=str)
                values.append(value)
            rows.append(values)
        if rows:
            self.con.execute("BEGIN")
            self.con.executemany(self.sql, rows)
            self.con.execute("COMMIT")


class RowByRowTarget(Target):
    name = "target-rowbyrow-duckdb"
    config_jsonschema = th.PropertiesList(
        th.Property("database", th.StringType, required=True)
    ).to_dict()
    default_sink_class = RowSink

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if getattr(self, "_connection", None) is None:
            self._connection = duckdb.connect(self.config["database"])
            self._connection.execute("SET TimeZone = 'UTC'")
        return self._connection


def measure(
    source_name: str,
    stream: str,
    base_url: str,
    env: Mapping[str, str],
    scratch: Path,
    config_overrides: Mapping[str, Any] | None = None,
    limit_seconds: float | None = 120.0,
) -> tuple[int, float, bool]:
    """Records loaded, seconds, and whether the run was cut at `limit_seconds`, for
    `source.stream`: tap (RECORD messages) | row-by-row target."""
    source = SOURCES[source_name]
    work = Path(tempfile.mkdtemp(prefix=f"baseline-{source_name}-{stream}-", dir=scratch))
    database = work / "baseline.duckdb"
    tap_config_path, target_config_path = work / "tap.json", work / "target.json"
    overrides = {"batch_mode": False, **(config_overrides or {})}
    tap_config_path.write_text(json.dumps(tap_config(source, base_url, overrides)))
    target_config_path.write_text(json.dumps({"database": str(database)}))
    command = [_tap_executable(source), "--config", str(tap_config_path)]
    command += _select_streams(command, [stream], env, work)
    started = time.perf_counter()
    with (work / "tap.log").open("wb") as tap_log, (work / "target.log").open("wb") as target_log:
        tap = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=tap_log, env=dict(env))
        target = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.baseline_singer", "--target", str(target_config_path)],
            stdin=tap.stdout, stderr=target_log, env=dict(env),
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        assert tap.stdout is not None
        tap.stdout.close()  # the target holds the pipe's read end
        cut = False
        try:
            target.wait(timeout=limit_seconds)
        except subprocess.TimeoutExpired:
            cut = True
            tap.terminate()  # the target drains what it received, commits, and exits
        target_code, tap_code = target.wait(), tap.wait()
    seconds = time.perf_counter() - started
    if (tap_code and not cut) or target_code:
        raise RuntimeError(
            f"baseline {source_name}.{stream} failed (tap {tap_code}, target {target_code}); "
            f"see {work}/tap.log and target.log"
        )
    with duckdb.connect(str(database), read_only=True) as con:
        records = con.execute(f"SELECT count(*) FROM {_quote(stream)}").fetchone()[0]
    database.unlink()
    return records, seconds, cut


def _ours(scale: str) -> dict[str, dict]:
    """Our taps + loader per stream, from extract_load's last result at this scale."""
    from .common import RESULTS

    path = RESULTS / "extract_load.json"
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    return document.get("streams", {}) if document.get("scale") == scale else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)  # the target process
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--stream", action="append", help=f"default: {DEFAULT_STREAMS}")
    parser.add_argument("--root", type=Path, default=None, help="worlds live here")
    parser.add_argument("--limit-seconds", type=float, default=120.0)
    args = parser.parse_args()
    if args.target:
        target = RowByRowTarget(config=json.loads(args.target.read_text()))
        target.listen()
        return

    from cx360_sandbox.server.core import RunningSandbox
    from cx360_sandbox.server.credentials import sandbox_credentials
    from cx360_sandbox.store import DEFAULT_ROOT, WorldFiles, generate_world

    from .common import peak_rss_mib, print_table, write_result
    from .extract_load import SERVED_BY

    files = generate_world(args.scale, args.seed, root=args.root or DEFAULT_ROOT)
    streams = args.stream or DEFAULT_STREAMS
    if all(name in SERVED_BY for name in streams):  # serve only what is read (memory)
        needed = {table for name in streams for table in SERVED_BY[name]}
        tables = {t: v for t, v in files.tables.items() if t in needed}
        files = WorldFiles(files.directory, {**files.manifest, "tables": tables})
    env = {**os.environ, **sandbox_credentials()}
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp, RunningSandbox(files) as sandbox:
        for name in streams:
            sandbox.server.set_now(sandbox.server.now)  # drop the last stream's copies
            source_name, stream = name.split(".")
            url = sandbox.url + SOURCES[source_name].sandbox_path
            records, seconds, cut = measure(
                source_name, stream, url, env, Path(tmp), limit_seconds=args.limit_seconds
            )
            rows.append([name, records, round(seconds, 1), round(records / seconds),
                         "yes" if cut else "no"])  # fmt: skip
            results[name] = {"records": records, "seconds": round(seconds, 2),
                             "records_per_second": round(records / seconds),
                             "cut_at_limit": cut}  # fmt: skip
    ours = _ours(args.scale)
    headers = ["stream", "records", "seconds", "rec/s", "cut at limit"]
    if ours:
        headers += ["ours rec/s", "ours / row-by-row"]
        for row in rows:
            mine = ours.get(row[0], {}).get("records_per_second")
            row += [mine or "-", f"{mine / row[3]:,.0f}x" if mine and row[3] else "-"]
            if mine:
                results[row[0]]["ours_records_per_second"] = mine
                results[row[0]]["ratio_ours_to_baseline"] = round(mine / row[3], 1)
    print(f"plain singer-sdk tap | row-by-row target, scale {args.scale}")
    print_table(headers, rows)
    if ours:
        print("ours: benchmarks/results/extract_load.json (same scale)")
    path = write_result("baseline_singer", {"scale": args.scale, "streams": results,
                                            "peak_rss_mib": peak_rss_mib()})  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
