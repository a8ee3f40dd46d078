"""Amplitude `events` from the Export API, in hourly windows of upload time."""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from cx360_singer import (
    PII_SALT_ENV,
    BatchFile,
    CX360RESTStream,
    GzipJsonlBatchWriter,
    hash_pii,
    normalize_utc,
    parse_instant,
    require_env,
    server_now,
)
from cx360_singer.prefetch import prefetched
from requests.auth import HTTPBasicAuth
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, StorageTarget
from singer_sdk.helpers.types import Context

from .export import (
    EventBatchShaper,
    ExportFileError,
    event_batch_shaper,
    event_shaper,
    iter_export_blocks,
    iter_export_lines,
)

DEFAULT_BASE_URL = "https://amplitude.com/api/2"
KEY_ENVS = ("AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY")
HOUR = timedelta(hours=1)
AVAILABILITY_DELAY = timedelta(hours=2)
"""Amplitude makes events exportable about two hours after it receives them."""
MAX_WINDOW_HOURS = 365 * 24
GROW_BELOW_BYTES = 16 << 20
SHRINK_ABOVE_BYTES = 256 << 20
DEFAULT_BATCH_SIZE_ROWS = 100_000
DOWNLOAD_CHUNK_BYTES = 1 << 20
SCHEMA = json.loads((resources.files(__package__) / "schemas" / "events.json").read_text())


class WindowTooLargeError(FatalAPIError):
    """HTTP 400 for a range: too long (> 365 days) or too much data (> 4 GB)."""


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_param(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H")


class EventsStream(CX360RESTStream):
    """Raw events, by hourly buckets of `server_upload_time` (what the Export API ranges on).

    * Windows start at the bookmark's hour; `window_hours` long where data is dense,
      wider through sparse history (see `_downloads`). A window is requested only
      once it ended at least two hours before the *server's* now (the `Date` header; the
      first request is a one-hour probe that also tells us that clock), and its end
      becomes the bookmark only after every event in it was emitted. Late events (an
      `event_time` days before upload) land in the window of their upload, so they are
      never behind the bookmark.
    * 404 means "no data in this range": an empty window, and the bookmark moves past it
      (it is complete); windows not yet complete are never requested, so a 404 cannot
      move the bookmark past data still to come.
    * Key `uuid`: Amplitude's id of each stored event, always present. `$insert_id` is the
      client's optional dedupe token (may be null, which a key cannot be); it is kept
      verbatim as a column.
    * `is_sorted`: files are read in hour order, so the bookmark never passes an unread
      hour; the order inside an hourly file is not documented, so `check_sorted` is off
      and a resume starts at the bookmark's whole hour (re-reading part of it at most).
    * BATCH mode (`batch_mode`, default on) writes gzip JSON-lines files straight from the
      export lines (no per-record jsonschema work); RECORD mode yields the same dicts.
      PII (`user_properties.email`, `ip_address`) is hashed here in both modes, because
      singer-sdk stream maps do not touch BATCH files.
    """

    name = "events"
    path = "/export"
    primary_keys = ("uuid",)
    replication_key = "server_upload_time"
    is_sorted = True
    check_sorted = False
    json_responses = False
    schema = SCHEMA
    auth_error_hint = "check AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY"

    @property
    def url_base(self) -> str:
        return str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def authenticator(self) -> HTTPBasicAuth:
        """HTTP Basic `api_key:secret_key`, from the environment only."""
        creds = self._credentials()
        return HTTPBasicAuth(creds[KEY_ENVS[0]], creds[KEY_ENVS[1]])

    def _credentials(self) -> dict[str, str]:
        """Every variable the run needs, checked at once (the salt too when hashing)."""
        names = [*KEY_ENVS, *([PII_SALT_ENV] if self.config.get("hash_pii", True) else [])]
        return require_env(names, "tap-amplitude")

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: singer-sdk would take it from the local clock, not the source's."""
        return None

    # -- windows -------------------------------------------------------------------------
    def _window_bounds(self) -> tuple[timedelta, timedelta]:
        """(dense-data window, growth cap), both within 1 hour … 365 days."""
        base = max(1, min(MAX_WINDOW_HOURS, int(self.config.get("window_hours", 24))))
        cap = int(self.config.get("max_window_hours", MAX_WINDOW_HOURS))
        return HOUR * base, HOUR * max(base, min(MAX_WINDOW_HOURS, cap))

    def _download(self, start: datetime, end: datetime, target: Path) -> tuple[bool, datetime]:
        """Fetch [start, end) to `target`; return (has data, server now). 404 = no data."""
        params = {"start": _hour_param(start), "end": _hour_param(end - HOUR)}  # inclusive
        prepared = self.build_prepared_request(
            method="GET", url=self.get_url(None), params=params, headers=self.http_headers
        )

        def fetch(request: requests.PreparedRequest, context: Context | None) -> tuple:
            del context
            response = self.requests_session.send(
                self.authenticator(request), stream=True, timeout=self.timeout
            )
            with response:
                now = server_now(response)
                if now is None and response.status_code < 500:
                    raise FatalAPIError(
                        "GET /export: answer without a Date header; the server's clock is "
                        "needed to tell which windows are complete"
                    )
                if response.status_code == 404:
                    _check_no_data_answer(response)
                    return False, now
                if response.status_code == 400:
                    raise WindowTooLargeError(f"GET /export {params}: HTTP 400 {response.text}")
                self.validate_response(response)
                with target.open("wb") as handle:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                        handle.write(chunk)
                expected = response.headers.get("Content-Length")
                if expected is not None and target.stat().st_size != int(expected):
                    raise RetriableAPIError(
                        f"GET /export {params}: body cut short "
                        f"({target.stat().st_size} of {expected} bytes)",
                        response,
                    )
                return True, now

        return self.request_decorator(fetch)(prepared, None)

    def _export_windows(self, context: Context | None) -> Iterator[tuple[datetime, Path | None]]:
        """(window end, its export ZIP or None) for each complete window from the bookmark on.

        Read each window's file before asking for the next: it is then deleted.
        The next window downloads on a worker thread meanwhile (see `_downloads`).
        """
        start_value = self.get_starting_replication_key_value(context)
        start = _floor_hour(parse_instant(start_value) or datetime(2023, 1, 1, tzinfo=UTC))
        with (
            tempfile.TemporaryDirectory(prefix="tap-amplitude-") as folder,
            # closed before the folder goes: the worker may be mid-download into it
            contextlib.closing(
                prefetched(self._downloads(start, Path(folder)), name="amplitude-export")
            ) as downloads,
        ):
            for end, path in downloads:
                yield end, path
                if path:
                    path.unlink()

    def _downloads(self, start: datetime, folder: Path) -> Iterator[tuple[datetime, Path | None]]:
        """Download complete windows from `start` on: (window end, ZIP path or None if empty).

        Windows are `window_hours` long where data is dense; through sparse stretches (an
        answer under GROW_BELOW_BYTES) the next one doubles, up to `max_window_hours`, and
        an answer over SHRINK_ABOVE_BYTES halves the next (never below `window_hours`). A
        three-year backfill of a small project thus takes a dozen requests instead of a
        thousand; a 400 (over 4 GB) halves the window at once.
        """
        base, cap = self._window_bounds()
        window, current = base, start
        server_time: datetime | None = None
        for number in itertools.count(1):
            if server_time is None:
                end = current + HOUR  # the probe: cheap, and it reveals the server's now
            else:
                available = _floor_hour(server_time - AVAILABILITY_DELAY)
                if current >= available:
                    return
                end = min(current + window, available)
            target = folder / f"window-{number}.zip"
            try:
                found, server_time = self._download(current, end, target)
            except WindowTooLargeError:
                if end - current <= HOUR:
                    raise
                window = HOUR * max(1, (end - current) // HOUR // 2)
                self.logger.warning("Export range too large; retrying with %s", window)
                continue
            if end > server_time - AVAILABILITY_DELAY:
                self.logger.info(
                    "No complete export window after %s yet (server time %s)",
                    current.isoformat(), server_time.isoformat(),
                )  # fmt: skip
                return  # only the probe can get here: its data is not final yet
            size = target.stat().st_size if found else 0
            yield end, (target if found else None)
            if end - current >= window:  # a full-length window tells how dense data is
                if size < GROW_BELOW_BYTES:
                    window = min(cap, window * 2)
                elif size > SHRINK_ABOVE_BYTES:
                    window = max(base, HOUR * (window // HOUR // 2))
            current = end

    def _hasher(self) -> Callable[[Any], Any] | None:
        salt = self._credentials().get(PII_SALT_ENV)
        return partial(hash_pii, salt=salt) if self.config.get("hash_pii", True) else None

    def _shaper(self) -> Any:
        return event_shaper(list(self.schema["properties"]), self._hasher())

    def _batch_shaper(self) -> EventBatchShaper:
        return event_batch_shaper(self.schema["properties"], self._hasher())

    def _bookmark(self, context: Context | None, value: datetime | str) -> None:
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = normalize_utc(value)
        self.state_manager.is_flushed = False

    # -- RECORD mode ---------------------------------------------------------------------
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Events in upload order; after each window, its end is the bookmark (+ STATE)."""
        for item in self._items(context):
            if isinstance(item, datetime):
                self._bookmark(context, item)
                self._write_state_message()
            else:
                yield item

    # -- BATCH mode ----------------------------------------------------------------------
    def get_batch_config(self, config: Mapping) -> BatchConfig | None:
        """An explicit singer-sdk `batch_config` wins; else `batch_mode` (default on)
        writes gzip JSONL files under `batch_dir`."""
        explicit = super().get_batch_config(config)
        if explicit is not None or not config.get("batch_mode", True):
            return explicit
        directory = Path(
            config.get("batch_dir")
            or Path(tempfile.gettempdir()) / "cx360-batches" / "tap-amplitude"
        )
        return BatchConfig(
            encoding=BaseBatchFileEncoding(
                format="jsonl",
                compression="gzip" if int(config.get("batch_compresslevel", 1)) else "none",
            ),
            storage=StorageTarget(root=directory.expanduser().resolve().as_uri()),
            batch_size=int(config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS),
        )

    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """Files of `batch_size` events, filled across windows; STATE follows each file.

        Few big files, not one per window: the loader commits once per BATCH message.
        The bookmark a file's STATE carries is the end of the last window it completed
        when no event came after that, else its last event's upload time (a resume then
        re-reads from that hour). Events go from export lines to the file in blocks
        (`event_batch_shaper`): no dict, no per-event call into singer-sdk.
        """
        self._write_starting_replication_value(context)
        writer = GzipJsonlBatchWriter(
            _local_path(batch_config.storage.root),
            self.name,
            compresslevel=int(self.config.get("batch_compresslevel", 1)),
        )
        batch_shaper = self._batch_shaper()
        upload_time = batch_shaper.upload_time
        size = max(1, int(batch_config.batch_size))
        current: BatchFile | None = None
        mark: Any = None  # what the rows written so far allow the bookmark to be
        with self.get_record_counter() as counter, self.get_sync_timer():
            try:
                for item in self._items(context, batch_shaper.shape):
                    if isinstance(item, datetime):  # a window is complete
                        if current is None:
                            self._bookmark(context, item)
                        else:
                            mark = item
                        continue
                    while item:
                        if current is None:
                            current = writer.open_file()
                        room = size - current.count
                        rows, item = item[:room], item[room:]
                        current.add(rows)
                        mark = upload_time(rows[-1])
                        if current.count >= size:
                            uri, count = current.close()
                            current = None
                            counter.increment(count)
                            self._bookmark(context, mark)
                            yield batch_config.encoding, [uri]
                if current is not None:
                    uri, count = current.close()
                    current = None
                    counter.increment(count)
                    self._bookmark(context, mark)
                    yield batch_config.encoding, [uri]
            finally:
                if current is not None:  # failed mid-file: never announced, so remove it
                    with contextlib.suppress(Exception):
                        current.close()
                    current.path.unlink(missing_ok=True)

    def _items(
        self, context: Context | None, shape_block: Callable[[bytes], list[Any]] | None = None
    ) -> Iterator[Any]:
        """Shaped events, each window followed by its end (a datetime). With
        `shape_block`, lists of events (one per block of export lines) instead."""
        shape = None if shape_block is not None else self._shaper()
        for end, path in self._export_windows(context):
            try:
                if path is None:
                    pass
                elif shape_block is not None:
                    for block in iter_export_blocks(path):
                        yield shape_block(block)
                else:
                    yield from map(shape, iter_export_lines(path))
            except (ExportFileError, zipfile.BadZipFile, ValueError) as error:
                raise FatalAPIError(
                    f"GET /export up to {end}: unreadable export: {error}"
                ) from None
            yield end


def _check_no_data_answer(response: requests.Response) -> None:
    """The export's 404 is a plain "no data" message; an HTML or JSON 404 means the URL is
    wrong (a misconfigured `base_url` must not look like months of empty windows)."""
    kind = response.headers.get("Content-Type", "").lower()
    if "html" in kind or "json" in kind:
        raise FatalAPIError(
            f"GET {urlsplit(response.url).path}: HTTP 404 ({kind}) is not the Export API's "
            "'no data' answer; check base_url"
        )


def _local_path(root: str) -> Path:
    """A `file://` storage root as a local path (the loader reads local files only)."""
    if root.startswith("file://"):
        return Path(unquote(urlsplit(root).path))
    return Path(root)
