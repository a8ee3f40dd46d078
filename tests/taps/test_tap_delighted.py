"""tap-delighted against the sandbox: the singer-sdk suite plus incremental/paging behaviour."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_singer import CX360RESTStream, normalize_utc
from singer_sdk import RESTStream
from singer_sdk.helpers._typing import _conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.json import serialize_json
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_delighted.client import DelightedStream, compile_conformer, encode_message
from tap_delighted.streams import (
    PeopleStream,
    SurveyResponsesStream,
    UpdatedSincePaginator,
    _utc_text,
)
from tap_delighted.tap import TapDelighted

from tests.taps.suite_sandbox import start_suite_sandbox

API = "/delighted/v1"
FAST = {"max_retry_seconds": 60}

# singer-sdk builds its suite at collection time, against a live URL: see suite_sandbox.
_SUITE_SANDBOX = start_suite_sandbox("delighted")

_BaseSuite = get_tap_test_class(
    TapDelighted,
    config={"base_url": _SUITE_SANDBOX.url + API, **FAST},
    suite_config=SuiteConfig(max_records_limit=120),
)


class TestTapDelightedSuite(_BaseSuite):  # type: ignore[misc, valid-type]
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


def run_tap(
    config: dict[str, Any], state: dict | None = None, only: str | None = None
) -> tuple[dict, dict]:
    """Sync in-process (all streams, or `only` one); return (records by stream, final state)."""
    tap = TapDelighted(config=config, state=state or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if only:
            tap.streams[only].sync()
        else:
            tap.sync_all()
    records: dict[str, list[dict]] = defaultdict(list)
    final_state: dict = {}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            final_state = message["value"]
    return records, final_state


def config_for(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"base_url": sandbox.url + API, **FAST, **extra}


def versions(rows: list[dict]) -> dict[str, int]:
    """id → updated_at (unix) from naive-pager rows."""
    return {r["id"]: r["updated_at"] for r in rows}


def epoch(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


# -- behaviour -------------------------------------------------------------------------------
def test_full_sync_matches_naive_pagers(sandbox: RunningSandbox) -> None:
    records, state = run_tap(config_for(sandbox))
    truth = tour.delighted_responses(sandbox.url)
    people = tour.delighted_people(sandbox.url)
    responses = records["survey_responses"]
    assert len(responses) == len(truth)
    assert {r["id"]: epoch(r["updated_at"]) for r in responses} == versions(truth)
    assert len(records["people"]) == len(people)
    assert {p["id"] for p in records["people"]} == {p["id"] for p in people}
    first = responses[0]
    assert isinstance(first["person"], dict) and "email" in first["person"]
    assert first["created_at"].endswith("Z") and first["updated_at"].endswith("Z")
    assert isinstance(first["person_properties"], dict)
    assert isinstance(first["tags"], list) and isinstance(first["notes"], list)
    assert [r["updated_at"] for r in responses] == sorted(r["updated_at"] for r in responses)
    bookmark = state["bookmarks"]["survey_responses"]
    assert bookmark["replication_key_value"] == max(r["updated_at"] for r in responses)
    assert "progress_markers" not in json.dumps(state)


def test_incremental_reads_exactly_new_and_changed(sandbox: RunningSandbox, control) -> None:
    # `tiny` has no Delighted activity in early November; from the 17th, two days bring a
    # new response and an edit (tag + note) of one created on the 16th.
    control.advance(days=16)
    _, state = run_tap(config_for(sandbox))
    before = versions(tour.delighted_responses(sandbox.url))
    mark = state["bookmarks"]["survey_responses"]["replication_key_value"]
    control.advance(days=2)
    after = versions(tour.delighted_responses(sandbox.url))
    changed = {i for i, u in after.items() if before.get(i) != u}
    assert changed - before.keys(), "two more days should bring a new response"
    assert changed & before.keys(), "... and an edit of an already loaded one"
    second, _ = run_tap(config_for(sandbox), state)
    got = {r["id"] for r in second["survey_responses"]}
    at_bookmark = {i for i, u in before.items() if u == epoch(mark)}  # inclusive cursor
    assert changed <= got
    assert got - changed == at_bookmark - changed  # only the bookmark's own second again
    assert all(epoch(r["updated_at"]) == after[r["id"]] for r in second["survey_responses"])


EDITED_LATER = "9000000041"  # in `tiny`: created Nov 14, edited Nov 23 (another edit Nov 18)
RECENT = "2026-11-10T00:00:00Z"  # page one row at a time, but only over recent activity


def test_keyset_paging_survives_changes_mid_sync(
    sandbox: RunningSandbox, control, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits land while the tap pages (right after it read EDITED_LATER); nothing is lost."""
    control.advance(days=16)
    original = UpdatedSincePaginator.get_next
    moved: list[bool] = []

    def get_next(self: UpdatedSincePaginator, response: requests.Response) -> Any:
        if not moved and response.json()[-1]["id"] == EDITED_LATER:
            moved.append(True)
            control.advance(days=7)
        return original(self, response)

    monkeypatch.setattr(UpdatedSincePaginator, "get_next", get_next)
    records, _ = run_tap(
        config_for(sandbox, page_size=1, start_date=RECENT), only="survey_responses"
    )
    final = versions(tour.delighted_responses(sandbox.url, updated_since=epoch(RECENT)))
    last_seen = {row["id"]: epoch(row["updated_at"]) for row in records["survey_responses"]}
    assert moved and last_seen == final


def test_page_number_paging_would_lose_a_row(sandbox: RunningSandbox, control) -> None:
    """Why keyset paging: the same scenario with `page=N` skips the row that shifts."""
    control.advance(days=16)
    auth = (sandbox_credentials()["DELIGHTED_API_KEY"], "")
    url = f"{sandbox.url}{API}/survey_responses.json"
    seen: dict[str, int] = {}
    page, moved = 1, False
    while True:
        params = {
            "per_page": 1, "page": page, "order": "asc:updated_at",
            "updated_since": epoch(RECENT),
        }  # fmt: skip
        rows = requests.get(url, params=params, auth=auth, timeout=30).json()
        if not rows:
            break
        seen.update((r["id"], r["updated_at"]) for r in rows)
        if not moved and rows[-1]["id"] == EDITED_LATER:
            moved = True
            control.advance(days=7)
        page += 1
    final = versions(tour.delighted_responses(sandbox.url, updated_since=epoch(RECENT)))
    assert moved and seen != final


def _page(rows: list[dict]) -> requests.Response:
    response = requests.Response()
    response._content = json.dumps(rows).encode()
    response.status_code = 200
    return response


def test_paginator_steps_pages_only_within_one_second() -> None:
    paginator = UpdatedSincePaginator(since=100, page_size=2)
    assert paginator.current_value == (100, 1)
    paginator.advance(_page([{"updated_at": 100}, {"updated_at": 100}]))
    assert paginator.current_value == (100, 2)  # a full page of one second: step the page
    paginator.advance(_page([{"updated_at": 100}, {"updated_at": 105}]))
    assert paginator.current_value == (105, 1)  # re-anchor on the value, not the position
    paginator.advance(_page([{"updated_at": 107}]))
    assert paginator.finished  # a short page: everything since the cursor was read


def test_faults_give_identical_records(sandbox: RunningSandbox, control) -> None:
    clean, _ = run_tap(config_for(sandbox, page_size=25))
    control.faults(
        rate_429=0.05, rate_5xx=0.05, rate_drop=0.05, rate_truncate=0.05, seed=11,
        apis=["delighted"],
    )  # fmt: skip
    faulty, _ = run_tap(config_for(sandbox, page_size=25))
    counters = control.status()["counters"]
    assert counters["faults_truncate"] > 0
    assert counters["faults_429"] + counters["faults_5xx"] + counters["faults_drop"] > 0

    def canon(records: dict) -> dict[str, list[str]]:
        return {
            stream: sorted(json.dumps(r, sort_keys=True) for r in rows)
            for stream, rows in records.items()
        }

    assert canon(faulty) == canon(clean)


def test_missing_key_is_a_clear_error(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DELIGHTED_API_KEY")
    with pytest.raises(Exception, match="DELIGHTED_API_KEY"):
        run_tap(config_for(sandbox))


# -- the RECORD path: the same messages as singer-sdk's own ----------------------------------
def _raw_sync(config: dict[str, Any]) -> list[str]:
    """Every line a full sync writes, `time_extracted` (the wall clock) left out."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        TapDelighted(config=config).sync_all()
    return [re.sub(r',"time_extracted":"[^"]*"', "", line) for line in out.getvalue().splitlines()]


def test_records_are_those_singer_sdk_writes(
    sandbox: RunningSandbox, control, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte, with a few records malformed (as the bad-records drill serves them)."""
    control.advance(days=30)
    control.corruption(rate=0.05, seed=5, endpoints=["delighted.survey_responses"])
    config = config_for(sandbox, page_size=37)
    ours = _raw_sync(config)
    for name in ("_generate_record_messages", "_write_record_message", "_request"):
        monkeypatch.setattr(DelightedStream, name, getattr(RESTStream, name))
    monkeypatch.setattr(DelightedStream, "validate_response", CX360RESTStream.validate_response)
    theirs = _raw_sync(config)
    assert sum('"RECORD"' in line for line in ours) > 300
    assert control.corruption()["counts"]
    assert ours == theirs


_WEIRD = [
    None, True, False, 0, 1, -7, 2**70, 2.5, float("nan"), float("inf"), Decimal("1.50"),
    Decimal("NaN"), Decimal("1E+400"), "", "x", "é\u2028\x00\x7f\U0001f600", b"\x00",
    b"ab", datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, tzinfo=UTC), date(2024, 1, 2),
    time(3, 4), timedelta(seconds=5),
]  # fmt: skip
_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "flag": {"type": ["boolean", "null"]},
        "flags": {"type": "array", "items": {"type": "boolean"}},
        "numbers": {"type": ["array", "null"], "items": {"type": "number"}},
        "n": {"type": ["number", "null"]},
        "when": {"type": "string", "format": "date-time"},
        "obj": {
            "type": "object",
            "properties": {
                "a": {"type": "boolean"},
                "b": {"type": "integer"},
                "deep": {"type": "object", "properties": {"c": {"type": "string"}}},
            },
        },
        "open": {
            "type": ["object", "null"],
            "properties": {"a": {"type": "boolean"}},
            "additionalProperties": True,
        },
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"x": {"type": "boolean"}, "y": {"type": "string"}},
            },
        },
        "free": {"type": "object"},
        "any": {"type": ["string", "integer", "null"]},
        "either": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
    },
}


def _weird_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return [_weird_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3 and roll < 0.3:
        keys = ["a", "b", "c", "x", "deep", "extra"]
        return {rng.choice(keys): _weird_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice(_WEIRD)


def _weird_record(rng: random.Random, schema: dict) -> dict[str, Any]:
    names = [*schema["properties"], "unknown", "other"]
    return {name: _weird_value(rng) for name in rng.sample(names, rng.randint(0, len(names)))}


@pytest.mark.parametrize(
    "schema",
    [_SCHEMA, SurveyResponsesStream.schema, PeopleStream.schema],
    ids=["odd", "survey_responses", "people"],
)
def test_compiled_conformance_is_singer_sdks(schema: dict) -> None:
    conform = compile_conformer(schema)
    assert conform is not None
    rng = random.Random(7)
    for _ in range(3000):
        record = _weird_record(rng, schema)
        expected, expected_unmapped = _conform_record_data_types(
            copy.deepcopy(record), schema, TypeConformanceLevel.RECURSIVE, None
        )
        unmapped: list[str] = []
        assert repr(conform(copy.deepcopy(record), None, unmapped)) == repr(expected), record
        assert unmapped == expected_unmapped


def test_schemas_conformance_cannot_mirror_use_singer_sdks() -> None:
    """An empty property schema fails in singer-sdk for some values only: not compiled."""
    assert compile_conformer({"properties": {"any": {}}}) is None
    assert (
        compile_conformer({"properties": {"x": {"type": "array", "items": {"type": "object"}}}})
        is None
    )


def test_record_lines_are_singer_sdks_bytes() -> None:
    rng = random.Random(8)
    for _ in range(5000):
        message = {
            "type": "RECORD", "stream": "s", "record": _weird_record(rng, _SCHEMA),
            "time_extracted": datetime.now(UTC),
        }  # fmt: skip
        assert encode_message(message) == serialize_json(message), message


def test_instants_are_normalize_utcs() -> None:
    rng = random.Random(9)
    values = [0, 1, 86_399, 951_782_400, 99_999_999_999, 100_000_000_000, -1, 10**12]
    values += [rng.randint(0, 100_000_000_000) for _ in range(20_000)]
    for value in values:
        assert _utc_text(value) == normalize_utc(value), value
