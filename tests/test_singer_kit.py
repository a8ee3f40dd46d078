"""cx360_singer: retries against a local HTTP server, timestamps, BATCH writer, PII, env."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import msgspec
import pytest
import requests
from cx360_singer import (
    AuthenticationError,
    CX360RESTStream,
    GzipJsonlBatchWriter,
    MissingCredentialsError,
    RetryBudgetExceededError,
    hash_pii,
    normalize_utc,
    parse_retry_after,
    pii_salt,
    redact,
    require_env,
    send_with_retries,
    to_epoch,
)
from cx360_singer.transport import mount_whole_body_adapter
from singer_sdk import Tap
from singer_sdk import typing as th
from target_cx360_duckdb import DuckDBLoader

# ---------------------------------------------------------------------------- local server


class Script:
    """What the server answers, one step per request; the last step repeats."""

    def __init__(self, *steps: dict[str, Any]) -> None:
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def next(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        with self.lock:
            self.requests.append(
                {
                    "path": handler.path,
                    "auth": handler.headers.get("Authorization"),
                    "at": time.monotonic(),
                }
            )
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


OK = {"status": 200, "body": {"items": [{"id": 1}, {"id": 2}]}}


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        step = self.server.script.next(self)
        if "require_auth" in step and self.headers.get("Authorization") != step["require_auth"]:
            step = {"status": 401, "body": [{"errorCode": "INVALID_SESSION_ID"}]}
        if step.get("sleep"):
            time.sleep(step["sleep"])
        if step.get("mode") == "drop":
            self.close_connection = True
            return
        raw = step.get("raw")
        body = raw if raw is not None else json.dumps(step.get("body", {})).encode()
        self.send_response(step["status"])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in step.get("headers", {}).items():
            self.send_header(name, value)
        self.end_headers()
        if step.get("mode") in ("truncate", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if step["mode"] == "stall":  # the rest of the body never comes in time
                time.sleep(step.get("stall_seconds", 2))
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), Handler)
    srv.script = Script(OK)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


# ---------------------------------------------------------------------------- a tiny tap


class ItemsStream(CX360RESTStream):
    name = "items"
    path = "/items"
    records_jsonpath = "$.items[*]"
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()
    auth_error_hint = "check KIT_TOKEN"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = "stale"
        self.refreshes = 0

    @property
    def url_base(self) -> str:
        return self.config["base_url"]

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, str]:
        return {"api_key": "SECRET-QUERY-VALUE"}


class RefreshingStream(ItemsStream):
    def refresh_auth(self, response: requests.Response) -> bool:
        self.refreshes += 1
        assert "INVALID_SESSION_ID" in response.text
        self.token = "fresh"
        return True


class QuickRetryStream(ItemsStream):
    backoff_base_seconds = 0.05


class KitTap(Tap):
    name = "tap-kit-test"
    config_jsonschema = th.PropertiesList(
        th.Property("base_url", th.StringType),
        th.Property("max_retry_seconds", th.NumberType),
        th.Property("request_timeout", th.IntegerType),
    ).to_dict()
    stream_class: type[ItemsStream] = ItemsStream

    def discover_streams(self) -> list[ItemsStream]:
        return [self.stream_class(self)]


def make_stream(server: _Server, cls: type[ItemsStream] = ItemsStream, **config: Any) -> Any:
    tap_class = type("T", (KitTap,), {"stream_class": cls})
    tap = tap_class(
        config={"base_url": f"http://127.0.0.1:{server.server_port}", **config}, setup_mapper=False
    )
    return tap.streams["items"]


def fetch(stream: Any) -> list[dict]:
    return list(stream.request_records(None))


# ---------------------------------------------------------------------------- retries


def test_retry_after_is_honoured(server: _Server) -> None:
    server.script = Script(
        {"status": 429, "headers": {"Retry-After": "1"}, "body": {"error": "slow down"}}, OK
    )
    stream = make_stream(server)
    started = time.monotonic()
    assert fetch(stream) == [{"id": 1}, {"id": 2}]
    gap = server.script.requests[1]["at"] - server.script.requests[0]["at"]
    assert gap >= 1.0
    assert time.monotonic() - started >= 1.0


def test_gives_up_after_bound_naming_endpoint_and_status(server: _Server) -> None:
    server.script = Script({"status": 503, "body": {"error": "down"}})
    stream = make_stream(server, max_retry_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(RetryBudgetExceededError) as info:
        fetch(stream)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 4.0
    message = str(info.value)
    assert "GET /items" in message and "503" in message and "max_retry_seconds=1.5" in message
    assert "SECRET-QUERY-VALUE" not in message and "stale" not in message
    assert info.value.status == 503
    assert len(server.script.requests) >= 2


def test_retry_after_beyond_budget_gives_up_at_once(server: _Server) -> None:
    server.script = Script({"status": 429, "headers": {"Retry-After": "60"}, "body": {}})
    stream = make_stream(server, max_retry_seconds=5)
    started = time.monotonic()
    with pytest.raises(RetryBudgetExceededError, match=r"Retry-After 60s exceeds"):
        fetch(stream)
    assert time.monotonic() - started < 2
    assert len(server.script.requests) == 1


def test_5xx_then_success(server: _Server) -> None:
    server.script = Script({"status": 500, "body": {}}, {"status": 502, "raw": b"<html>"}, OK)
    assert fetch(make_stream(server)) == [{"id": 1}, {"id": 2}]
    assert len(server.script.requests) == 3


def test_truncated_invalid_json_and_dropped_connections_are_retried(server: _Server) -> None:
    server.script = Script(
        {**OK, "mode": "truncate"},  # Content-Length says more than arrives
        {"status": 200, "raw": b'{"items": [{"id": 1}, {"id"'},  # complete but invalid JSON
        {"mode": "drop"},  # connection closed without an answer
        OK,
    )
    assert fetch(make_stream(server, QuickRetryStream)) == [{"id": 1}, {"id": 2}]
    assert len(server.script.requests) == 4


def test_read_timeout_is_retried(server: _Server) -> None:
    server.script = Script({**OK, "sleep": 2}, OK)
    assert fetch(make_stream(server, request_timeout=1)) == [{"id": 1}, {"id": 2}]


def test_whole_body_adapter_decodes_and_fails_like_requests(server: _Server) -> None:
    """Bodies are read in one call: gzip is decoded, and a cut or stalled body raises the
    exceptions requests' own chunked read raises (which the retries act on)."""
    session = requests.Session()
    mount_whole_body_adapter(session)
    url = f"http://127.0.0.1:{server.server_port}/items"
    payload = json.dumps({"items": [{"id": n} for n in range(5000)]}).encode()
    server.script = Script(
        {"status": 200, "raw": gzip.compress(payload), "headers": {"Content-Encoding": "gzip"}}
    )
    response = session.get(url, timeout=5)
    assert response.content == payload and response.json()["items"][-1] == {"id": 4999}
    server.script = Script({**OK, "raw": payload, "mode": "truncate"})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(url, timeout=5)
    server.script = Script({**OK, "raw": payload, "mode": "stall"})
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(url, timeout=0.5)
    server.script = Script({**OK, "raw": payload})
    streamed = session.get(url, stream=True, timeout=5)
    assert b"".join(streamed.iter_content(1000)) == payload


def test_401_refresh_hook_called_once_then_success(server: _Server) -> None:
    server.script = Script({**OK, "require_auth": "Bearer fresh"})
    stream = make_stream(server, RefreshingStream)
    assert fetch(stream) == [{"id": 1}, {"id": 2}]
    assert stream.refreshes == 1
    assert [r["auth"] for r in server.script.requests] == ["Bearer stale", "Bearer fresh"]


def test_401_without_refresh_or_after_refresh_is_fatal(server: _Server) -> None:
    server.script = Script({**OK, "require_auth": "Bearer never"})
    with pytest.raises(AuthenticationError) as info:
        fetch(make_stream(server))
    assert "GET /items: HTTP 401" in str(info.value) and "check KIT_TOKEN" in str(info.value)
    assert "stale" not in str(info.value)
    stream = make_stream(server, RefreshingStream)
    with pytest.raises(AuthenticationError, match="still rejected after refreshing"):
        fetch(stream)
    assert stream.refreshes == 1


def test_send_with_retries_for_one_off_calls(server: _Server) -> None:
    server.script = Script({"status": 503, "body": {}}, OK)
    url = f"http://127.0.0.1:{server.server_port}/oauth/token?client_secret=abc"
    response = send_with_retries(requests.Session(), requests.Request("GET", url))
    assert response.json() == OK["body"]


# ---------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T12:34:56Z", "2024-01-01T12:34:56.000000Z"),
        ("2024-01-01T12:34:56.000+0000", "2024-01-01T12:34:56.000000Z"),
        ("2024-01-01T12:34:56+00:00", "2024-01-01T12:34:56.000000Z"),
        ("2024-01-01T07:34:56-05:00", "2024-01-01T12:34:56.000000Z"),
        ("2024-01-01T18:04:56.5+05:30", "2024-01-01T12:34:56.500000Z"),
        ("2024-01-01 12:34:56", "2024-01-01T12:34:56.000000Z"),
        ("2024-01-01", "2024-01-01T00:00:00.000000Z"),
        (1704112496, "2024-01-01T12:34:56.000000Z"),
        (1704112496.25, "2024-01-01T12:34:56.250000Z"),
        (1704112496000, "2024-01-01T12:34:56.000000Z"),  # epoch milliseconds (Amplitude)
        ("1704112496", "2024-01-01T12:34:56.000000Z"),
        (datetime(2024, 1, 1, 12, 34, 56), "2024-01-01T12:34:56.000000Z"),
        (None, None),
        ("", None),
    ],
)
def test_normalize_utc(value: Any, expected: str | None) -> None:
    assert normalize_utc(value) == expected


def test_normalized_strings_sort_like_instants() -> None:
    values = ["2024-01-01T12:00:00.5Z", "2024-01-01T12:00:00Z", "2024-01-01T06:30:00-06:00"]
    normalized = sorted(normalize_utc(v) for v in values)  # type: ignore[type-var]
    assert normalized == [
        "2024-01-01T12:00:00.000000Z",
        "2024-01-01T12:00:00.500000Z",
        "2024-01-01T12:30:00.000000Z",
    ]
    with pytest.raises(ValueError, match="not a timestamp"):
        normalize_utc("yesterday")
    assert to_epoch("2024-01-01T00:00:00Z") == 1704067200


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None


# ---------------------------------------------------------------------------- batch + PII


def test_batch_writer_round_trip_with_pii_hashed(tmp_path: Path) -> None:
    salt = "test-salt"
    writer = GzipJsonlBatchWriter(
        tmp_path / "batches", "users", salt=salt, pii_fields=["email", "phone", "via.from.address"]
    )
    rows = [
        {
            "id": 1,
            "email": "Ann@Example.com ",
            "phone": None,
            "amount": Decimal("10.05"),
            "via": {"channel": "email", "from": {"address": "ann@example.com"}},
        },
        b'{"id": 2, "email": "bob@example.com", "amount": 0.1}\n',
        '{"id": 3, "name": "no pii here"}',
    ]
    message = writer.write_batch(rows)
    assert message["type"] == "BATCH" and message["stream"] == "users"
    assert message["encoding"] == {"format": "jsonl", "compression": "gzip"}
    (uri,) = message["manifest"]
    assert uri.startswith("file://") and uri.endswith(".jsonl.gz")
    with gzip.open(urlsplit(uri).path, "rt") as fh:
        back = [json.loads(line) for line in fh]
    ann = hash_pii("ann@example.com", salt)
    assert ann is not None and len(ann) == 64 and int(ann, 16) >= 0
    assert back[0]["email"] == ann  # normalised: case and spaces do not matter
    assert back[0]["via"] == {"channel": "email", "from": {"address": ann}}
    assert back[0]["phone"] is None and back[0]["amount"] == 10.05
    assert back[1] == {"id": 2, "email": hash_pii("bob@example.com", salt), "amount": 0.1}
    assert back[2] == {"id": 3, "name": "no pii here"}
    assert "example.com" not in Path(urlsplit(uri).path).read_bytes().decode("latin-1")

    # ...and the loader ingests the file as it is.
    db = tmp_path / "w.duckdb"
    with DuckDBLoader(db, "raw_kit") as loader:
        loader.process(
            {
                "type": "SCHEMA",
                "stream": "users",
                "key_properties": ["id"],
                "schema": {
                    "properties": {
                        "id": {"type": "integer"},
                        "email": {"type": ["null", "string"]},
                        "amount": {"type": ["null", "number"], "multipleOf": 0.01},
                    }
                },
            }
        )
        loader.process(message)
    with duckdb.connect(str(db)) as con:
        got = con.execute("SELECT id, email, amount FROM raw_kit.users ORDER BY id").fetchall()
    assert got == [
        (1, ann, Decimal("10.05")),
        (2, hash_pii("bob@example.com", salt), Decimal("0.10")),
        (3, None, None),
    ]


def test_batches_split_by_rows_per_file(tmp_path: Path) -> None:
    writer = GzipJsonlBatchWriter(tmp_path, "events", rows_per_file=4)
    messages = list(writer.batches({"i": i} for i in range(10)))
    assert len(messages) == 3
    counts = []
    for m in messages:
        with gzip.open(urlsplit(m["manifest"][0]).path, "rt") as fh:
            counts.append(len(fh.readlines()))
    assert counts == [4, 4, 2]
    writer.cleanup()
    assert not list(tmp_path.glob("*.jsonl.gz"))


class _Row(msgspec.Struct, omit_defaults=True):
    i: int
    note: str | msgspec.UnsetType = msgspec.UNSET


@pytest.mark.parametrize("level", [0, 1])
def test_batch_file_takes_lists_of_dicts_structs_and_lines(tmp_path: Path, level: int) -> None:
    writer = GzipJsonlBatchWriter(tmp_path, "events", compresslevel=level)
    with writer.open_file() as batch_file:
        batch_file.add([{"i": 0, "amount": Decimal("1.10")}, {"i": 1}])
        batch_file.add([])
        batch_file.add([_Row(2), _Row(3, note="x")])
        batch_file.add([b'{"i": 4}', '{"i": 5}\n'])
    assert batch_file.count == 6
    assert writer.compression == ("gzip" if level else "none")
    opener = gzip.open if level else open
    with opener(batch_file.path, "rt") as fh:
        back = [json.loads(line, parse_float=Decimal) for line in fh]
    assert back == [
        {"i": 0, "amount": Decimal("1.10")}, {"i": 1}, {"i": 2}, {"i": 3, "note": "x"},
        {"i": 4}, {"i": 5},
    ]  # fmt: skip
    assert writer.files_written == [batch_file.path]


def test_pii_needs_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CX360_PII_SALT", raising=False)
    with pytest.raises(MissingCredentialsError, match="CX360_PII_SALT"):
        pii_salt()
    monkeypatch.setenv("CX360_PII_SALT", "s3")
    assert pii_salt() == "s3"
    with pytest.raises(ValueError, match="salt"):
        GzipJsonlBatchWriter("/tmp", "x", pii_fields=["email"])
    assert hash_pii("a", "k1") != hash_pii("a", "k2")


# ---------------------------------------------------------------------------- env, redaction


def test_require_env_lists_every_missing_variable() -> None:
    env = {"A_TOKEN": "x", "EMPTY": ""}
    with pytest.raises(MissingCredentialsError) as info:
        require_env(["A_TOKEN", "B_SECRET", "EMPTY"], "tap-x", environ=env)
    assert "B_SECRET, EMPTY" in str(info.value) and "x" not in str(info.value).split(":")[-1]
    assert require_env(["A_TOKEN"], "tap-x", environ=env) == {"A_TOKEN": "x"}


def test_redact_removes_tokens() -> None:
    text = (
        "HTTPSConnectionPool(host='x.my.salesforce.com'): Max retries exceeded with url: "
        "/services/data/v60.0/query?q=SELECT+Id&access_token=00Dabc!AQ "
        "headers={'Authorization': 'Bearer 00Dxx!ARtoken123'} body={\"refresh_token\":\"r1\"}"
    )
    out = redact(text)
    for secret in ("00Dabc", "ARtoken123", "r1", "SELECT+Id"):
        assert secret not in out
    assert "/services/data/v60.0/query?<redacted>" in out
