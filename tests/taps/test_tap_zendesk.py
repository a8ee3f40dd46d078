"""tap-zendesk against the sandbox: the singer-sdk suite plus paging, bookmark, delete,
rate-limit, fault and BATCH behaviour."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
import pytest
import requests
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_singer import MissingCredentialsError, RetryBudgetExceededError, normalize_utc, to_epoch
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_zendesk.client import CursorExportPaginator, TimeExportPaginator
from tap_zendesk.streams import STREAM_TYPES, metric_sets_of
from tap_zendesk.tap import TapZendesk

from tests.taps.suite_sandbox import start_suite_sandbox

API = "/zendesk/api/v2"
# start_date before the sandbox's history, so the tap and the naive pagers (start_time=0)
# see the same rows; RECORD mode unless a test asks for BATCH.
BASE = {"start_date": "2015-01-01T00:00:00Z", "batch_mode": False, "max_retry_seconds": 60}
INCREMENTAL_KEYS = {
    "tickets": "generated_timestamp",
    "users": "generated_timestamp",
    "organizations": "updated_at",
    "ticket_events": "timestamp",
    "satisfaction_ratings": "updated_at",
    # Bookmarked on its ticket's generated_timestamp, which the naive truth (the list
    # endpoint) lacks; in the sandbox a metric set's updated_at is that same instant.
    "ticket_metrics": "updated_at",
}
"""Per stream, the field of the naive truth whose epoch is the tap's bookmark."""
REPLICATION_KEYS = {stream.name: stream.replication_key for stream in STREAM_TYPES}

# singer-sdk builds its suite at collection time, against a live URL: see suite_sandbox.
_SUITE_SANDBOX = start_suite_sandbox("zendesk")

_BaseSuite = get_tap_test_class(
    TapZendesk,
    config={"base_url": _SUITE_SANDBOX.url + API, **BASE},
    suite_config=SuiteConfig(max_records_limit=None),
)


class TestTapZendeskSuite(_BaseSuite):  # type: ignore[misc, valid-type]
    """singer-sdk's built-in tap, stream and attribute tests (RECORD mode)."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _credentials(cls) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in sandbox_credentials().items():
                patch.setenv(name, value)
            yield


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sandbox_credentials().items():
        monkeypatch.setenv(name, value)


@dataclass
class Run:
    """Messages of one in-process sync, in order."""

    messages: list[dict] = field(default_factory=list)

    @property
    def records(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for message in self.messages:
            if message["type"] == "RECORD":
                out[message["stream"]].append(message["record"])
        return out

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict:
        return self.states[-1]

    @property
    def batches(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "BATCH"]


def run_tap(
    config: dict[str, Any], state: dict | None = None, streams: list[str] | None = None
) -> Run:
    """Sync in-process (optionally only `streams`), capturing the Singer messages."""
    tap = TapZendesk(config=config, state=state or {})
    if streams is not None:
        for name, stream in tap.streams.items():
            stream.selected = name in streams
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return Run([json.loads(line) for line in out.getvalue().splitlines()])


def config_for(sandbox: RunningSandbox, **overrides: Any) -> dict[str, Any]:
    return {"base_url": sandbox.url + API, **BASE, **overrides}


def naive(base: str) -> dict[str, list[dict]]:
    """Every stream's rows per the plain-requests pagers (time exports deduped by id)."""
    out = {name: tour.zendesk_cursor_export(base, name) for name in ("tickets", "users")}
    for name in ("organizations", "ticket_events"):
        out[name] = list({row["id"]: row for row in tour.zendesk_time_export(base, name)}.values())
    for name in ("groups", "satisfaction_ratings"):
        out[name] = tour.zendesk_list(base, name)
    # The list serves every metric set; the tap reads those sideloaded on the ticket
    # export, which leaves out tickets changed during the last minute.
    exported = ids(out["tickets"])
    out["ticket_metrics"] = [
        row for row in tour.zendesk_list(base, "ticket_metrics") if row["ticket_id"] in exported
    ]
    return out


def ids(rows: list[dict]) -> set[int]:
    return {row["id"] for row in rows}


def epoch_of(value: Any) -> int:
    return value if isinstance(value, int) else to_epoch(value)


def read_manifest(uri: str) -> list[dict]:
    path = Path(unquote(urlsplit(uri).path))
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


# -- full sync --------------------------------------------------------------------------------
def test_full_sync_equals_naive_pagers(sandbox: RunningSandbox) -> None:
    """Small export pages give many page boundaries: repeats must be dropped, nothing lost."""
    run = run_tap(config_for(sandbox, export_page_size=300, page_size=50))
    truth = naive(sandbox.url)
    records = run.records
    for name, rows in truth.items():
        assert len(records[name]) == len(ids(records[name])), f"{name}: duplicate ids"
        assert ids(records[name]) == ids(rows), name
    tickets = {row["id"]: row for row in records["tickets"]}
    for row in truth["tickets"]:
        assert tickets[row["id"]]["generated_timestamp"] == row["generated_timestamp"]
        assert tickets[row["id"]]["updated_at"] == normalize_utc(row["updated_at"])
    for row in records["ticket_metrics"]:
        ticket = tickets[row["ticket_id"]]
        assert row["generated_timestamp"] == ticket["generated_timestamp"], row["id"]
    stamps = [row["generated_timestamp"] for row in records["ticket_metrics"]]
    assert stamps == sorted(stamps), "metric sets come in the export's order"
    assert "progress_markers" not in json.dumps(run.final_state)
    bookmarks = run.final_state["bookmarks"]
    for name, key in INCREMENTAL_KEYS.items():
        top = max(epoch_of(row[key]) for row in truth[name])
        assert epoch_of(bookmarks[name]["replication_key_value"]) == top, name


def test_deleted_tickets_are_soft_deleted(sandbox: RunningSandbox) -> None:
    records = run_tap(config_for(sandbox), streams=["tickets"]).records["tickets"]
    deleted = [row for row in records if row["status"] == "deleted"]
    assert deleted, "the tiny world should contain deleted tickets"
    for row in records:
        expected = row["updated_at"] if row["status"] == "deleted" else None
        assert row["_sdc_deleted_at"] == expected


def test_missing_credentials_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENDESK_EMAIL")
    monkeypatch.delenv("ZENDESK_API_TOKEN")
    with pytest.raises(MissingCredentialsError, match="ZENDESK_EMAIL, ZENDESK_API_TOKEN"):
        run_tap({"base_url": "http://127.0.0.1:9/zendesk/api/v2"})


# -- incremental --------------------------------------------------------------------------------
def test_incremental_returns_only_new_and_changed_rows(sandbox: RunningSandbox, control) -> None:
    config = config_for(sandbox)
    first = run_tap(config)
    bookmarks = first.final_state["bookmarks"]
    control.advance(days=2)
    second = run_tap(config, state=first.final_state).records
    truth = naive(sandbox.url)
    new_rows = 0
    for name, key in INCREMENTAL_KEYS.items():
        mark = epoch_of(bookmarks[name]["replication_key_value"])
        newer = {row["id"] for row in truth[name] if epoch_of(row[key]) > mark}
        at_or_after = {row["id"] for row in truth[name] if epoch_of(row[key]) >= mark}
        got = ids(second[name])
        assert newer <= got <= at_or_after, name
        new_rows += len(newer)
    assert new_rows > 0, "two simulated days should bring new rows"
    assert len(second["tickets"]) < len(first.records["tickets"])
    assert len(second["ticket_metrics"]) < len(first.records["ticket_metrics"])
    # Full-table streams are read whole every time.
    assert ids(second["groups"]) == ids(truth["groups"])


@pytest.mark.parametrize("stream", ["ticket_metrics", "ticket_events"])
def test_interrupted_sync_resumes_without_gaps(sandbox: RunningSandbox, stream: str) -> None:
    """Cut the output after a mid-stream STATE of `stream` (as if the process died there
    and the loader committed up to it); resuming from that state must cover every
    remaining row."""
    config = config_for(sandbox, export_page_size=300)
    full = run_tap(config)
    cut = next(
        index
        for index, message in enumerate(full.messages)
        if message["type"] == "STATE"
        and stream in message["value"].get("bookmarks", {})
        and message["value"]["bookmarks"][stream].get("replication_key_value")
    )
    committed = Run(full.messages[: cut + 1])
    assert len(committed.records[stream]) < len(full.records[stream]), "cut mid-stream"
    resumed = run_tap(config, state=committed.states[-1])
    for name, rows in full.records.items():
        covered = ids(committed.records[name]) | ids(resumed.records[name])
        assert covered == ids(rows), name
    # Resuming re-reads the tail of the stream, not all of it.
    assert len(resumed.records[stream]) < len(full.records[stream])
    assert committed.records[stream]


# -- rate limits and faults --------------------------------------------------------------------
def test_rate_limit_retry_after_is_honoured(sandbox: RunningSandbox, control) -> None:
    truth = naive(sandbox.url)
    control.rate_limits({"zendesk": [5, 2]})
    started = time.monotonic()
    streams = ["tickets", "groups", "satisfaction_ratings"]  # 8 requests
    run = run_tap(config_for(sandbox), streams=streams)
    elapsed = time.monotonic() - started
    limited = [entry for entry in control.requests_log() if entry["status"] == 429]
    assert limited, "the budget of 5 requests per 2 s should have been exceeded"
    # Request 6 is refused with Retry-After = the rest of the 2 s window, and waited out.
    assert elapsed >= 2.0
    for name in streams:
        assert ids(run.records[name]) == ids(truth[name]), name


def test_faults_give_the_same_records_as_a_clean_run(sandbox: RunningSandbox, control) -> None:
    """20% of requests fail (429 + Retry-After, 503, dropped connection, truncated body);
    seed 7 hits every kind within this sync's ~20 requests."""
    config = config_for(sandbox)
    clean = run_tap(config).records
    control.faults(
        rate_429=0.05, rate_5xx=0.05, rate_drop=0.05, rate_truncate=0.05,
        retry_after_seconds=1, seed=7, apis=["zendesk"],
    )  # fmt: skip
    faulty = run_tap(config).records
    counters = control.status()["counters"]
    for kind in ("faults_429", "faults_5xx", "faults_drop", "faults_truncate"):
        assert counters[kind] > 0, kind
    assert faulty.keys() == clean.keys()
    for name, rows in clean.items():
        key = lambda row: row["id"]  # noqa: E731
        assert sorted(faulty[name], key=key) == sorted(rows, key=key), name


def test_retry_budget_exhaustion_names_the_endpoint(sandbox: RunningSandbox, control) -> None:
    control.faults(rate_429=1.0, retry_after_seconds=5, apis=["zendesk"])
    started = time.monotonic()
    with pytest.raises(RetryBudgetExceededError, match=r"GET /zendesk/api/v2/groups\.json.*429"):
        run_tap(config_for(sandbox, max_retry_seconds=2), streams=["groups"])
    assert time.monotonic() - started < 2, "a Retry-After beyond the budget fails at once"


# -- BATCH mode --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stream", ["ticket_events", "tickets", "users", "ticket_metrics", "satisfaction_ratings"]
)
def test_batch_mode_files_equal_record_mode(
    sandbox: RunningSandbox, tmp_path: Path, stream: str
) -> None:
    records = run_tap(config_for(sandbox), streams=[stream]).records[stream]
    config = config_for(sandbox, batch_mode=True, batch_dir=str(tmp_path), batch_size_rows=2000)
    run = run_tap(config, streams=[stream])
    assert not run.records.get(stream), "BATCH mode must not also send RECORDs"
    batched: list[dict] = []
    for message in run.batches:
        assert message["stream"] == stream
        assert message["encoding"] == {"format": "jsonl", "compression": "gzip"}
        for uri in message["manifest"]:
            assert uri.startswith("file://")
            batched.extend(read_manifest(uri))
    assert len(run.batches) == -(-len(records) // 2000)
    assert batched == records
    # STATE follows every BATCH, bookmarking exactly the rows announced so far: the last
    # one's value where the API orders by it; an unsorted stream (satisfaction ratings, by
    # id) keeps the greatest value as progress and commits it when the stream completes.
    key = REPLICATION_KEYS[stream]
    sorted_stream = next(s for s in STREAM_TYPES if s.name == stream).is_sorted is not False
    seen = 0
    for index, message in enumerate(run.messages):
        if message["type"] == "BATCH":
            seen += sum(len(read_manifest(uri)) for uri in message["manifest"])
            state = run.messages[index + 1]
            assert state["type"] == "STATE"
            bookmark = state["value"]["bookmarks"][stream]
            if sorted_stream:
                assert bookmark["replication_key_value"] == batched[seen - 1][key]
            else:
                progress = bookmark["progress_markers"]["replication_key_value"]
                assert progress == max(row[key] for row in batched[:seen])
    final = run.final_state["bookmarks"][stream]
    assert "progress_markers" not in final
    last = records[-1][key] if sorted_stream else max(row[key] for row in records)
    assert final["replication_key_value"] == last


def test_comment_bodies_hashed_when_asked(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(sandbox, batch_mode=True, batch_dir=str(tmp_path), hash_comment_bodies=True)
    monkeypatch.delenv("CX360_PII_SALT", raising=False)
    with pytest.raises(MissingCredentialsError, match="CX360_PII_SALT"):
        run_tap(config, streams=["ticket_events"])
    monkeypatch.setenv("CX360_PII_SALT", "test-salt")
    run = run_tap(config, streams=["ticket_events"])
    rows = [
        row for message in run.batches for uri in message["manifest"] for row in read_manifest(uri)
    ]
    comments = [
        child for row in rows for child in row["child_events"] if child["event_type"] == "Comment"
    ]
    assert comments
    assert all(re.fullmatch("[0-9a-f]{64}", child["body"]) for child in comments)
    assert "Please help" not in json.dumps(rows)
    # Same text, same hash: the bodies stay groupable without being readable.
    assert len({child["body"] for child in comments}) < len(comments)
    # A ticket's description is its first comment's text: hashed alike.
    tickets = run_tap(config, streams=["tickets"])
    described = [
        row
        for message in tickets.batches
        for uri in message["manifest"]
        for row in read_manifest(uri)
        if row.get("description") is not None
    ]
    assert described
    assert all(re.fullmatch("[0-9a-f]{64}", row["description"]) for row in described)
    assert {row["description"] for row in described} <= {child["body"] for child in comments}


# -- paging edge cases ---------------------------------------------------------------------------
def _response(payload: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(payload).encode()
    return response


def test_empty_export_pages_do_not_end_the_stream() -> None:
    paginator = CursorExportPaginator()
    empty = _response({"tickets": [], "after_cursor": "abc", "end_of_stream": False})
    assert paginator.continue_if_empty(empty)
    paginator.advance(empty)
    assert not paginator.finished and paginator.current_value == "abc"
    last = _response({"tickets": [], "after_cursor": "abd", "end_of_stream": True})
    assert not paginator.continue_if_empty(last)
    paginator.advance(last)
    assert paginator.finished

    time_paginator = TimeExportPaginator()
    next_page = "http://x/api/v2/incremental/ticket_events.json?start_time=5&include=comment_events"
    page = _response({"ticket_events": [], "end_of_stream": False, "next_page": next_page})
    assert time_paginator.continue_if_empty(page)
    time_paginator.advance(page)
    assert time_paginator.current_value == {"start_time": "5", "include": "comment_events"}


def _rows_both_ways(stream_name: str, page: bytes) -> tuple[list[Any], list[Any]]:
    """A page's rows as RECORD mode makes them (dicts: `post_process`, singer-sdk's
    conformance) and as BATCH mode does (Structs, the page checks), both as JSON values."""
    tap = TapZendesk(config={"base_url": "http://127.0.0.1:9/zendesk/api/v2"})
    stream = tap.streams[stream_name]
    plan = stream._struct_plan()
    assert plan is not None
    items = plan.decode_page(page)[plan.resource]
    structs = plan.decode_items(items.array)
    assert structs and all(row.__class__ is plan.item_type for row in structs)
    batch_rows = plan.finisher(stream, stream._item_filter())(structs, items.guards_needed)
    items = json.loads(page)[plan.resource]
    record_rows = stream._row_finisher(stream._item_filter())(items, None)
    as_json = msgspec.json.Encoder(decimal_format="number")
    return (
        [json.loads(as_json.encode(row)) for row in record_rows],
        [json.loads(as_json.encode(row)) for row in batch_rows],
    )


@pytest.mark.parametrize(
    "child",
    [
        '{"id": 11, "event_type": "Comment", "public": true}',
        '{"id": 11, "event_type": "Comment", "public":1}',
        '{"id": 11, "event_type": "Comment", "public" : 0}',
        '{"id": 11, "event_type": "Comment", "\\u0070ublic":1}',
        '{"id": 11, "event_type": "Change", "value": "public", "public":false}',
        '{"id": 11, "event_type": "Comment", "body": "line\\none", "public":1}',
    ],
)
def test_struct_rows_equal_dict_rows_for_child_event_booleans(child: str) -> None:
    """BATCH mode skips the per-row look at child events' booleans when a page-wide scan
    finds only true/false/null after the key; numbers, spacing, escapes and the key's name
    as a value must still come out as RECORD mode conforms them."""
    plain = '{"id": 12, "event_type": "Comment", "public":true}'
    page = (
        '{"ticket_events": ['
        f'{{"id": 1, "ticket_id": 7, "timestamp": 100, "created_at": "2026-01-01T00:00:00Z",'
        f' "event_type": "Audit", "child_events": [{child}, {plain}]}},'
        '{"id": 2, "ticket_id": 7, "timestamp": 101, "created_at": "2026-01-01T00:00:01+02:00",'
        f' "event_type": "Audit", "child_events": [{plain}]}}'
        '], "end_of_stream": true, "end_time": 101}'
    ).encode()
    record_rows, batch_rows = _rows_both_ways("ticket_events", page)
    assert batch_rows == record_rows
    assert all(
        isinstance(event["public"], bool)
        for row in batch_rows
        for event in row["child_events"]
        if "public" in event
    )


def test_struct_rows_equal_dict_rows_for_tickets() -> None:
    """Instants (whole-second, offset, malformed), soft deletes, boolean numbers and
    values BATCH mode copies undecoded (escaped text, numbers, a string where an integer
    belongs) on a hand-made tickets page, RECORD and BATCH mode alike."""
    tickets = [
        {"id": 1, "status": "open", "created_at": "2026-01-01T00:00:00Z",
         "updated_at": "2026-01-02T03:04:05.5+01:00", "due_at": None, "is_public": 1,
         "generated_timestamp": 10, "subject": 'Caf\u00e9 "down"\n\u2603',
         "requester_id": 37000298630, "group_id": "12", "recipient": None},
        {"id": 2, "status": "deleted", "created_at": "2026-02-30T00:00:00Z",
         "updated_at": "2026-01-03T00:00:00Z", "due_at": "not a date", "is_public": True,
         "generated_timestamp": 11},
        {"id": 3, "status": "deleted", "generated_timestamp": 12},
    ]  # fmt: skip
    page = json.dumps({"tickets": tickets, "end_of_stream": True}).encode()
    record_rows, batch_rows = _rows_both_ways("tickets", page)
    assert batch_rows == record_rows
    assert [row["_sdc_deleted_at"] for row in batch_rows] == [
        None, "2026-01-03T00:00:00.000000Z", None,
    ]  # fmt: skip
    assert batch_rows[0]["is_public"] is True
    assert batch_rows[0]["subject"] == 'Caf\u00e9 "down"\n\u2603'
    assert (batch_rows[0]["requester_id"], batch_rows[0]["group_id"]) == (37000298630, "12")


def test_batch_pages_keep_items_raw_until_written() -> None:
    """BATCH mode's page decoder: empty arrays (spaced or not) read as no items, a page
    whose items are not a list is refused (and then parsed whole, as RECORD mode does)."""
    tap = TapZendesk(config={"base_url": "http://127.0.0.1:9/zendesk/api/v2"})
    plan = tap.streams["tickets"]._struct_plan()
    assert plan is not None
    for empty in (b"[]", b"[ ]", b"[\n  \n]"):
        page = b'{"tickets": ' + empty + b', "end_of_stream": true}'
        assert not plan.decode_page(page)["tickets"]
    items = plan.decode_page(b'{"tickets": [{"id": 1}], "after_cursor": "x"}')["tickets"]
    rows = plan.decode_items(items.array)
    assert items and [getattr(row, plan.attrs["id"]) for row in rows] == [1]
    with pytest.raises(TypeError):
        plan.decode_page(b'{"tickets": null, "end_of_stream": true}')


def test_soft_delete_mapping_of_users_organizations_groups() -> None:
    """The sandbox never deletes these, so check the mapping on hand-made rows."""
    tap = TapZendesk(config={"base_url": "http://127.0.0.1:9/zendesk/api/v2"})
    gone = "2026-10-01T10:00:00Z"
    cases = {
        "users": ({"id": 1, "active": False, "updated_at": gone}, {"id": 2, "active": True}),
        "organizations": ({"id": 1, "deleted_at": gone}, {"id": 2, "deleted_at": None}),
        "groups": ({"id": 1, "deleted": True, "updated_at": gone}, {"id": 2, "deleted": False}),
    }
    for name, (deleted, alive) in cases.items():
        stream = tap.streams[name]
        assert stream.post_process(dict(deleted))["_sdc_deleted_at"] == normalize_utc(gone), name
        assert stream.post_process(dict(alive))["_sdc_deleted_at"] is None, name


def test_metric_sets_take_their_tickets_place_and_timestamp() -> None:
    """Hand-made pages: the join on ticket_id, the order, a malformed ticket (no id) and a
    metric set whose ticket is not in the page."""
    tickets = [
        {"id": 1, "generated_timestamp": 10},
        {"id": 2, "generated_timestamp": 20},
        {"id": 3, "generated_timestamp": 30},
    ]
    sets = [{"id": 502, "ticket_id": 2}, {"id": 503, "ticket_id": 3}, {"id": 501, "ticket_id": 1}]
    rows = metric_sets_of({"tickets": tickets, "metric_sets": sets})
    assert [(row["id"], row["generated_timestamp"]) for row in rows] == [
        (501, 10), (502, 20), (503, 30),
    ]  # fmt: skip
    assert metric_sets_of({"tickets": tickets}) == []

    # A ticket that lost its id still places its metric set, one set per ticket in order.
    keyless = [tickets[0], {"generated_timestamp": 20}, tickets[2]]
    in_order = [
        {"id": 501, "ticket_id": 1},
        {"id": 502, "ticket_id": 2},
        {"id": 503, "ticket_id": 3},
    ]
    rows = metric_sets_of({"tickets": keyless, "metric_sets": in_order})
    assert [(row["id"], row["generated_timestamp"]) for row in rows] == [
        (501, 10), (502, 20), (503, 30),
    ]  # fmt: skip

    stray = {"id": 509, "ticket_id": 9}
    for page in (
        {"tickets": tickets, "metric_sets": [*sets, stray]},
        {"tickets": keyless, "metric_sets": [in_order[0], stray, in_order[2]][::-1]},
    ):
        with pytest.raises(FatalAPIError, match="metric set 509 is for ticket 9"):
            metric_sets_of(page)
