"""tap-amplitude against the sandbox: the singer-sdk suite plus windows, BATCH and PII."""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
import pytest
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_singer import hash_pii
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_amplitude import export
from tap_amplitude.prefetch import prefetched
from tap_amplitude.tap import TapAmplitude

from tests.taps.suite_sandbox import start_suite_sandbox

API = "/amplitude/api/2"
SALT = "test-salt"
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the sandbox clock's start
START = "2026-10-25T00:00:00Z"  # a week of events keeps each sync around a second
FAST = {"max_retry_seconds": 60, "start_date": START, "batch_mode": False}

# singer-sdk builds its suite at collection time, against a live URL: see suite_sandbox.
_SUITE_SANDBOX = start_suite_sandbox("amplitude")

_BaseSuite = get_tap_test_class(
    TapAmplitude,
    config={"base_url": _SUITE_SANDBOX.url + API, **FAST},
    suite_config=SuiteConfig(max_records_limit=50),
)


def _environment() -> dict[str, str]:
    return {**sandbox_credentials(), "CX360_PII_SALT": SALT}


class TestTapAmplitudeSuite(_BaseSuite):  # type: ignore[misc, valid-type]
    """singer-sdk's built-in tap, stream and attribute tests (RECORD mode)."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _credentials(cls) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in _environment().items():
                patch.setenv(name, value)
            yield


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _environment().items():
        monkeypatch.setenv(name, value)


def run_tap(config: dict[str, Any], state: dict | None = None) -> tuple[list, list, dict]:
    """Sync in-process; return (RECORD rows, BATCH-file rows, final state)."""
    tap = TapAmplitude(config=config, state=state or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    records: list[dict] = []
    batched: list[dict] = []
    final_state: dict = {}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.append(message["record"])
        elif message["type"] == "BATCH":
            level = int(config.get("batch_compresslevel", 1))
            compression = "gzip" if level else "none"  # level 0: plain JSONL
            assert message["encoding"] == {"format": "jsonl", "compression": compression}
            opener = gzip.open if level else open
            for uri in message["manifest"]:
                with opener(Path(unquote(urlsplit(uri).path)), "rt") as handle:
                    batched.extend(json.loads(row) for row in handle)
        elif message["type"] == "STATE":
            final_state = message["value"]
    return records, batched, final_state


def config_for(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"base_url": sandbox.url + API, **FAST, **extra}


def bookmark(state: dict) -> str:
    return state["bookmarks"]["events"]["replication_key_value"]


def truth(sandbox: RunningSandbox, start: datetime, end: datetime) -> dict[str, dict]:
    """uuid → raw event uploaded in [start, end), by the naive pager."""
    return {e["uuid"]: e for e in tour.amplitude_events(sandbox.url, start, end)}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- behaviour -------------------------------------------------------------------------------
def test_full_sync_matches_naive_pager_and_server_clock(sandbox: RunningSandbox) -> None:
    records, _, state = run_tap(config_for(sandbox))
    # Complete windows end two hours before the *server's* now (the local clock differs).
    assert bookmark(state) == "2026-10-31T22:00:00.000000Z"
    expected = truth(sandbox, instant(START), NOW - timedelta(hours=2))
    assert len(records) == len(expected) > 0
    assert {r["uuid"] for r in records} == set(expected)
    first = records[0]
    assert first["server_upload_time"].endswith("Z") and "T" in first["event_time"]
    assert first["$insert_id"] == expected[first["uuid"]]["$insert_id"]
    uploads = [r["server_upload_time"] for r in records]
    assert uploads == sorted(uploads)
    # Late events (occurred before start_date, uploaded after) are read: windows go by upload.
    assert any(instant(r["event_time"]) < instant(START) for r in records)


def test_incremental_reads_exactly_the_new_events(sandbox: RunningSandbox, control) -> None:
    first, _, state = run_tap(config_for(sandbox))
    # Waiting without new complete windows: nothing is read, the bookmark stays.
    again, _, same = run_tap(config_for(sandbox), state)
    assert again == [] and bookmark(same) == bookmark(state)
    control.advance(days=2)
    second, _, state2 = run_tap(config_for(sandbox), state)
    expected = truth(sandbox, instant(bookmark(state)), NOW + timedelta(days=2, hours=-2))
    assert {r["uuid"] for r in second} == set(expected)
    assert len(second) == len(expected) > 0
    assert not {r["uuid"] for r in second} & {r["uuid"] for r in first}
    assert bookmark(state2) == "2026-11-02T22:00:00.000000Z"


def test_empty_windows_are_skipped_not_fatal(sandbox: RunningSandbox, control) -> None:
    records, _, state = run_tap(
        config_for(sandbox, window_hours=1, max_window_hours=1, start_date="2026-10-30")
    )
    statuses = [e["status"] for e in control.requests_log() if e["api"] == "amplitude"]
    assert 404 in statuses and 200 in statuses  # some hours hold no events
    expected = truth(sandbox, datetime(2026, 10, 30, tzinfo=UTC), NOW - timedelta(hours=2))
    assert {r["uuid"] for r in records} == set(expected)
    # Empty but complete hours move the bookmark; the two unavailable hours do not.
    assert bookmark(state) == "2026-10-31T22:00:00.000000Z"


def test_sparse_history_widens_windows(sandbox: RunningSandbox, control) -> None:
    """Three years from the default start_date: windows double through sparse data."""
    records, _, state = run_tap({**config_for(sandbox), "start_date": "2023-01-01T00:00:00Z"})
    requests = [e for e in control.requests_log() if e["api"] == "amplitude"]
    assert len(requests) < 40  # fixed daily windows would take ~1,400
    assert bookmark(state) == "2026-10-31T22:00:00.000000Z"
    assert (
        len(records)
        == sandbox.server.cursor()
        .execute("SELECT count(*) FROM amp_events WHERE server_upload_time < '2026-10-31 22:00:00'")
        .fetchall()[0][0]
    )
    assert len({r["uuid"] for r in records}) == len(records)


@pytest.mark.parametrize("level", [1, 0])
def test_batch_files_equal_record_mode_and_hash_pii(
    sandbox: RunningSandbox, tmp_path, level: int
) -> None:
    records, none, _ = run_tap(config_for(sandbox))
    batch_config = config_for(
        sandbox, batch_mode=True, batch_dir=str(tmp_path), batch_size_rows=40,
        batch_compresslevel=level,
    )  # fmt: skip
    nothing, batched, state = run_tap(batch_config)
    assert none == [] and nothing == []
    assert len(list(tmp_path.iterdir())) > 1  # several files, STATE after each
    assert batched == records
    assert bookmark(state) == "2026-10-31T22:00:00.000000Z"
    raw = truth(sandbox, instant(START), NOW - timedelta(hours=2))
    emails = [(raw[r["uuid"]]["user_properties"]["email"], r) for r in batched]
    assert sum(email is not None for email, _ in emails) > 0
    for email, row in emails:
        assert row["user_properties"]["email"] == hash_pii(email, SALT)


def test_hash_pii_off_keeps_emails(sandbox: RunningSandbox, monkeypatch) -> None:
    monkeypatch.delenv("CX360_PII_SALT")
    records, _, _ = run_tap(config_for(sandbox, hash_pii=False))
    emails = [r["user_properties"]["email"] for r in records]
    assert any(emails) and all("@" in e for e in emails if e is not None)


def test_faults_give_identical_records(sandbox: RunningSandbox, control) -> None:
    clean, _, clean_state = run_tap(config_for(sandbox, window_hours=4, max_window_hours=4))
    control.faults(
        rate_429=0.05, rate_5xx=0.05, rate_drop=0.05, rate_truncate=0.05, seed=5,
        apis=["amplitude"],
    )  # fmt: skip
    faulty, _, faulty_state = run_tap(config_for(sandbox, window_hours=4, max_window_hours=4))
    counters = control.status()["counters"]
    assert counters["faults_truncate"] > 0
    assert counters["faults_429"] + counters["faults_5xx"] + counters["faults_drop"] > 0
    assert faulty == clean and faulty_state == clean_state


def test_missing_credentials_are_listed_together(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY", "CX360_PII_SALT"):
        monkeypatch.delenv(name)
    with pytest.raises(Exception, match="AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, CX360_PII_SALT"):
        run_tap(config_for(sandbox))


def test_wrong_base_url_is_not_an_empty_export(sandbox: RunningSandbox) -> None:
    with pytest.raises(Exception, match="check base_url"):
        run_tap({**config_for(sandbox), "base_url": sandbox.url + "/amplitude/api/3"})


def test_prefetch_keeps_order_raises_in_order_and_stops_early() -> None:
    def produce(fail_at: int | None = None) -> Iterator[int]:
        for number in range(5):
            if number == fail_at:
                raise ValueError(f"boom at {number}")
            yield number

    assert list(prefetched(produce())) == [0, 1, 2, 3, 4]
    seen: list[int] = []
    with pytest.raises(ValueError, match="boom at 3"):
        seen.extend(prefetched(produce(fail_at=3)))
    assert seen == [0, 1, 2]
    closed: list[bool] = []

    def endless() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed.append(True)

    with contextlib.closing(prefetched(endless())) as numbers:
        assert next(numbers) == 0
    assert closed == [True]  # the worker closed its source when we stopped early


@pytest.mark.parametrize("hashing", [True, False])
def test_batch_shaper_rows_equal_record_rows(hashing: bool) -> None:
    """BATCH mode decodes only the values it rewrites and copies the rest as sent:
    escaped text, numbers, booleans, nulls, unknown and missing keys must come out as
    RECORD mode's shaper makes them (as JSON values)."""
    schema = Path(export.__file__).with_name("schemas") / "events.json"
    properties = json.loads(schema.read_text())["properties"]
    hash_value = (lambda value: hash_pii(value, SALT)) if hashing else None
    lines = [
        {"uuid": "u1", "server_upload_time": "2026-10-31 21:00:00.123456",
         "event_time": "2026-10-31 20:59:59", "city": "S\u00e3o Paulo \"centro\"\n",
         "location_lat": -23.5505, "sample_rate": 1e-3, "amplitude_id": 12345678901234,
         "paying": "n/a", "is_attribution_event": False, "ip_address": "10.0.0.1",
         "user_properties": {"email": "a@example.com", "plan": "pro"}, "unknown_key": [1]},
        {"uuid": "u2", "server_upload_time": "2026-10-31 21:00:01.000000", "city": None,
         "processed_time": "", "user_properties": None, "event_properties": {"k": "\u2603"}},
    ]  # fmt: skip
    block = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    record_shape = export.event_shaper(properties, hash_value)
    batch = export.event_batch_shaper(properties, hash_value)
    record_rows = [record_shape(line) for line in block.splitlines()]
    batch_rows = [
        json.loads(line)
        for line in msgspec.json.Encoder().encode_lines(batch.shape(block)).splitlines()
    ]
    assert batch_rows == json.loads(json.dumps(record_rows))
    assert batch_rows[0]["city"] == 'S\u00e3o Paulo "centro"\n'
    assert [batch.upload_time(row) for row in batch.shape(block)] == [
        "2026-10-31T21:00:00.123456Z", "2026-10-31T21:00:01.000000Z",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "odd_value",
    [
        None,  # every value in the usual shape: the column is rewritten in one go
        "2026-10-31 21:00:02",  # whole seconds
        "2026-10-31 21:00:02.12 456",  # a second space: only index 10 is the separator
        "2026-10-31 21:00\n02.123456",  # a line break inside, at the usual length
        "2026-10-31 21:00:02.1234567",  # one character too many
        "",
        1_761_944_402,  # a number
    ],
)
def test_batch_time_columns_equal_record_rows(odd_value: object) -> None:
    """The time fields of a block are rewritten column by column when every value has
    Amplitude's usual shape, else value by value: either way as RECORD mode does."""
    schema = Path(export.__file__).with_name("schemas") / "events.json"
    properties = json.loads(schema.read_text())["properties"]
    times = [name for name in export.TIME_FIELDS if name != "user_creation_time"]
    lines: list[dict[str, Any]] = [
        {"uuid": f"u{index}"}
        | {name: f"2026-10-31 21:{index:02d}:0{index % 10}.{index:06d}" for name in times}
        for index in range(40)
    ]
    if odd_value is not None:
        lines[17]["client_event_time"] = odd_value
        del lines[23]["processed_time"]
    block = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    record_shape = export.event_shaper(properties, None)
    record_rows = [record_shape(line) for line in block.splitlines()]
    batch_rows = [
        json.loads(line)
        for line in msgspec.json.Encoder()
        .encode_lines(export.event_batch_shaper(properties, None).shape(block))
        .splitlines()
    ]
    assert batch_rows == json.loads(json.dumps(record_rows))
    assert batch_rows[5]["event_time"] == "2026-10-31T21:05:05.000005Z"
    assert "user_creation_time" not in batch_rows[0]  # absent stays absent
