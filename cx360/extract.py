"""The extract runner: each tap as a subprocess, piped into our DuckDB loader in-process.

Why a pipe: the tap (HTTP, JSON) and the loader (DuckDB) then run on separate cores, and a
crash or SIGKILL of either side leaves the warehouse with whole committed batches plus the
state that covers them (the loader writes both in one transaction). The next run resumes
from the state in the warehouse, never from a file that may run ahead of the data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from target_cx360_duckdb import DuckDBLoader, read_state

FLUSH_ROWS = 122_880
"""Rows per loader transaction (RECORD spool flushes, and each BATCH file the taps write):
one DuckDB row group. Below a row group (122,880 rows) every row goes through the WAL and
is written again at the checkpoint (1M events: 15 s at 100k rows per commit, 8 s at 400k).
Not more: the loader starts on a file only once the tap has finished it, so the last file
is loaded after the tap is done. One row group instead of four per file, warm
extract_load at medium on 2026-12-05: tickets 9.1 s -> 7.9 s, Amplitude events
122 s -> 95 s, ticket events unchanged."""


@dataclass(frozen=True)
class Source:
    name: str
    tap: str
    sandbox_path: str
    """Where this API lives under the sandbox server."""
    default_base_url: str
    credentials: tuple[str, ...]
    batch_files: bool = False
    """The tap hands high-volume streams over as Singer BATCH files (config `batch_dir`)."""

    @property
    def schema(self) -> str:
        return f"raw_{self.name}"

    @property
    def base_url_variable(self) -> str:
        return f"CX360_{self.name.upper()}_BASE_URL"


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            "salesforce",
            "tap-salesforce",
            "/salesforce",
            "https://login.salesforce.com",
            ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_REFRESH_TOKEN"),
        ),
        Source(
            "zendesk",
            "tap-zendesk",
            "/zendesk/api/v2",
            "",
            ("ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
            batch_files=True,
        ),
        Source(
            "qualtrics",
            "tap-qualtrics",
            "/qualtrics/API/v3",
            "",
            ("QUALTRICS_API_TOKEN",),
        ),
        Source(
            "delighted",
            "tap-delighted",
            "/delighted/v1",
            "https://api.delighted.com/v1",
            ("DELIGHTED_API_KEY",),
        ),
        Source(
            "amplitude",
            "tap-amplitude",
            "/amplitude/api/2",
            "https://amplitude.com/api/2",
            ("AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY", "CX360_PII_SALT"),
            batch_files=True,
        ),
    )
}


class ExtractError(RuntimeError):
    """A source failed; what was committed before the failure stays committed."""


class MissingEnvironmentError(ExtractError):
    """Raised once, listing every missing variable, before anything runs."""


@dataclass
class StreamSummary:
    source: str
    stream: str
    records: int
    inserted: int
    updated: int
    deleted: int
    quarantined: int
    seconds: float

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        return (
            f"{self.source}.{self.stream:28} {self.records:>10,} records  "
            f"{self.inserted:>9,} inserted  {self.updated:>9,} updated  "
            f"{self.deleted:>7,} deleted  {self.quarantined:>6,} quarantined  "
            f"{self.seconds:>7.1f}s  {rate:>9,.0f}/s"
        )


@dataclass
class SourceResult:
    source: str
    seconds: float
    streams: list[StreamSummary] = field(default_factory=list)
    state: dict[str, Any] | None = None


def check_environment(sources: list[Source], env: Mapping[str, str]) -> None:
    missing = [
        variable for source in sources for variable in source.credentials if not env.get(variable)
    ]
    missing += [
        source.base_url_variable
        for source in sources
        if not env.get(source.base_url_variable) and not source.default_base_url
    ]
    if missing:
        raise MissingEnvironmentError(
            "missing environment variables: " + ", ".join(dict.fromkeys(missing))
        )


def tap_config(
    source: Source,
    base_url: str,
    overrides: Mapping[str, Any] | None,
    batch_dir: Path | None = None,
) -> dict:
    config: dict[str, Any] = {"base_url": base_url}
    if source.batch_files and batch_dir is not None:
        # A local hand-off, read by the loader on this host and deleted once committed:
        # compressing it would cost the tap most of a core and save nothing.
        config["batch_dir"] = str(batch_dir)
        config["batch_compresslevel"] = 0
        config["batch_size_rows"] = FLUSH_ROWS
    return {**config, **(overrides or {})}


_BATCH_MARK = b'"BATCH"'


def _delete_batch_files(line: bytes) -> None:
    """Remove the files of a BATCH message the loader has just committed.

    The loader commits a BATCH before `process_line` returns, and a resumed run
    re-extracts from the committed state, never from old files, so nothing reads them
    again; without this a large sync leaves its whole volume in gzip files behind.
    """
    try:
        message = json.loads(line)
    except ValueError:
        return
    if not isinstance(message, dict) or message.get("type") != "BATCH":
        return
    for uri in message.get("manifest") or []:
        if isinstance(uri, str) and uri.startswith("file://"):
            Path(unquote(urlsplit(uri).path)).unlink(missing_ok=True)


def _tap_executable(source: Source) -> str:
    candidate = Path(sys.executable).with_name(source.tap)
    if candidate.exists():
        return str(candidate)
    raise ExtractError(f"{source.tap} is not installed next to {sys.executable}")


def _select_streams(
    command: list[str], streams: list[str], env: Mapping[str, str], scratch: Path
) -> list[str]:
    """Discover the tap's catalog and mark only `streams` as selected."""
    discovered = subprocess.run(
        [*command, "--discover"], env=dict(env), capture_output=True, check=False
    )
    if discovered.returncode != 0:
        raise ExtractError(f"{command[0]} --discover failed: {discovered.stderr.decode()[-500:]}")
    catalog = json.loads(discovered.stdout)
    known = {entry["tap_stream_id"] for entry in catalog["streams"]}
    unknown = sorted(set(streams) - known)
    if unknown:
        raise ExtractError(f"unknown stream(s) {unknown}; {command[0]} has {sorted(known)}")
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] in streams
        for metadata in entry.get("metadata", []):
            if metadata.get("breadcrumb") == []:
                metadata.setdefault("metadata", {})["selected"] = selected
    catalog_path = scratch / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    return ["--catalog", str(catalog_path)]


def run_source(
    source: Source,
    warehouse: Path,
    *,
    base_url: str,
    env: Mapping[str, str],
    log_dir: Path,
    config_overrides: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    batch_size_rows: int = FLUSH_ROWS,
    streams: list[str] | None = None,
) -> SourceResult:
    """Sync one source (or only `streams` of it) from its warehouse state.

    Raises ExtractError if the tap fails; what the loader received before is committed.
    """
    started = time.perf_counter()
    log_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(warehouse, source.schema)
    with tempfile.TemporaryDirectory(prefix=f"cx360-{source.name}-") as scratch:
        config_path = Path(scratch) / "config.json"
        # BATCH files go to this run's scratch folder: deleted once committed (below), and
        # whatever a failed run left there goes with the folder.
        batch_dir = Path(scratch) / "batches"
        config_path.write_text(
            json.dumps(tap_config(source, base_url, config_overrides, batch_dir))
        )
        command = [_tap_executable(source), "--config", str(config_path)]
        if streams:
            command += _select_streams(command, streams, env, Path(scratch))
        if state:
            state_path = Path(scratch) / "state.json"
            state_path.write_text(json.dumps(state))
            command += ["--state", str(state_path)]
        log_path = log_dir / f"extract-{source.name}.log"
        log_offset = log_path.stat().st_size if log_path.exists() else 0
        with (
            log_path.open("ab") as log_file,
            DuckDBLoader(warehouse, source.schema, batch_size_rows=batch_size_rows) as loader,
        ):
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log_file, env=dict(env), bufsize=1 << 20
            )
            assert process.stdout is not None
            reporter = _Progress(source.name, loader, progress)
            try:
                for line in process.stdout:
                    loader.process_line(line)
                    if _BATCH_MARK in line[:64]:
                        _delete_batch_files(line)
            finally:
                reporter.stop()
                return_code = process.wait()
        # The loader committed everything it received, so data before a failure is kept.
        if return_code != 0:
            tail = _tail(log_path)
            raise ExtractError(
                f"{source.tap} exited with {return_code}; last log lines ({log_path}):\n{tail}"
            )
        result = SourceResult(source.name, time.perf_counter() - started)
        durations = _sync_durations(log_path, log_offset)
        for stream, stats in sorted(loader.stats.items()):
            values = stats.as_dict()
            values["seconds"] = durations.get(stream, 0.0) + values.get("seconds", 0.0)
            result.streams.append(
                StreamSummary(
                    source=source.name,
                    stream=stream,
                    records=values.get("records", 0),
                    inserted=values.get("inserted", 0),
                    updated=values.get("updated", 0),
                    deleted=values.get("deleted", 0),
                    quarantined=values.get("quarantined", 0),
                    seconds=round(values.get("seconds", 0.0), 2),
                )
            )
        result.state = loader.committed_state
        return result


class _Progress:
    """Prints records/s every few seconds while a long sync runs."""

    def __init__(
        self, name: str, loader: DuckDBLoader, sink: Callable[[str], None] | None, every: float = 5
    ) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if sink is None:
            return
        started = time.perf_counter()

        def report() -> None:
            while not self._stop.wait(every):
                records = sum(s.records for s in loader.stats.values())
                rate = records / (time.perf_counter() - started)
                sink(f"  {name}: {records:,} records committed ({rate:,.0f}/s)")

        self._thread = threading.Thread(target=report, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)


def _sync_durations(log_path: Path, offset: int) -> dict[str, float]:
    """Seconds each stream spent in the tap this run, from singer-sdk's METRIC log lines."""
    durations: dict[str, float] = {}
    with log_path.open("rb") as handle:
        handle.seek(offset)
        for raw in handle:
            marker = raw.find(b"METRIC: ")
            if marker < 0 or b'"sync_duration"' not in raw:
                continue
            try:
                metric = json.loads(raw[marker + 8 :])
            except ValueError:
                continue
            stream = metric.get("tags", {}).get("stream")
            if stream:
                durations[stream] = durations.get(stream, 0.0) + float(metric.get("value", 0))
    return durations


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def extract(
    names: list[str],
    warehouse: Path,
    *,
    sandbox_url: str | None,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    config_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SourceResult]:
    """Extract `names` (all sources when empty) into `warehouse`, one source at a time.

    A name is a source (`zendesk`) or one of its streams (`zendesk.tickets`). With
    `sandbox_url`, every base URL points at the sandbox; otherwise each comes from
    `CX360_<SOURCE>_BASE_URL` or the vendor default. Credentials always come from `env`.
    """
    selected: dict[str, list[str]] = {}
    for name in names or list(SOURCES):
        source_name, _, stream = name.partition(".")
        if source_name not in SOURCES:
            raise ExtractError(f"unknown source {source_name!r}; choose from {', '.join(SOURCES)}")
        streams = selected.setdefault(source_name, [])
        if stream:
            streams.append(stream)
    sources = [SOURCES[name] for name in selected]
    environment = dict(os.environ if env is None else env)
    if sandbox_url is None:
        check_environment(sources, environment)
    else:
        check_environment(
            [Source(s.name, s.tap, s.sandbox_path, "sandbox", s.credentials) for s in sources],
            environment,
        )
    results = []
    for source in sources:
        if sandbox_url is not None:
            base_url = sandbox_url + source.sandbox_path
        else:
            base_url = environment.get(source.base_url_variable) or source.default_base_url
        results.append(
            run_source(
                source,
                warehouse,
                base_url=base_url,
                env=environment,
                log_dir=log_dir,
                config_overrides=(config_overrides or {}).get(source.name),
                progress=progress,
                streams=selected[source.name] or None,
            )
        )
    return results
