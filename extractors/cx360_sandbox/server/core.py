"""The sandbox HTTP server: routing, auth hooks, faults, rate limits, clock, request log.

One `ThreadingHTTPServer` serves every API under its own path prefix (`/salesforce`,
`/zendesk`, `/qualtrics`, `/delighted`, `/amplitude`) plus a control API under `/_sandbox`
that tests use to move the simulated clock, inject faults and read the request log.
Faults and rate limits are applied before the API code runs, so every API gets them alike.

`ResponseCache` (off unless asked for) replays answers the API code already computed, for
benchmarks that measure the client side: a real API's server does not run on the machine
that runs the taps, and here it would otherwise share its two cores.
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb

from ..store import WorldFiles, load_world
from ..timeline import ANCHOR, HORIZON

PER_CLOCK_PREFIX = "per_clock:"
"""`SandboxServer.state` keys with this prefix hold what API code derived for the current
clock; `set_now` drops them with the server's own per-clock tables."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None):
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        return cls(status, body, dict(headers or {}))


class ResponseCache:
    """Computed answers of stateless GET endpoints, replayed for the same request.

    Keyed by the request line and its credentials, for the APIs named only: their answers
    depend on the URL, the world and the clock alone (Salesforce query locators and
    Qualtrics export jobs are stateful and are never cached). Faults and rate limits are
    still decided per request, before the cache is consulted. Anything that changes what
    an API answers (the clock, corruption, drift: every control-API write) empties it.
    Stops storing at `max_bytes`, so memory stays bounded; what is stored still replays.
    """

    def __init__(self, apis: set[str], max_bytes: int) -> None:
        self.apis = frozenset(apis)
        self.max_bytes = max_bytes
        self.stored_bytes = 0
        self.hits = 0
        self._answers: dict[tuple[str, str], Response] = {}
        self._lock = threading.Lock()

    def get(self, api: str, key: tuple[str, str]) -> Response | None:
        if api not in self.apis:
            return None
        answer = self._answers.get(key)
        if answer is not None:
            with self._lock:
                self.hits += 1
        return answer

    def put(self, api: str, key: tuple[str, str], response: Response) -> None:
        if api not in self.apis or response.status != 200:
            return
        with self._lock:
            if self.stored_bytes + len(response.body) > self.max_bytes:
                return
            if key not in self._answers:
                self._answers[key] = response
                self.stored_bytes += len(response.body)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self.stored_bytes = 0


class ApiError(Exception):
    """Raised by API code to answer with a vendor-shaped error."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str]
    server: SandboxServer

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)


Handler = Callable[[Request], Response]


@dataclass
class FaultConfig:
    """Injected faults, each a probability per API request (control endpoints exempt)."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_truncate: float = 0.0
    retry_after_seconds: float = 1.0
    latency_ms: float = 0.0
    seed: int = 0
    apis: list[str] = field(default_factory=list)
    """Limit faults to these API prefixes; empty means every API."""


@dataclass
class Counters:
    requests: int = 0
    faults_429: int = 0
    faults_5xx: int = 0
    faults_drop: int = 0
    faults_truncate: int = 0
    rate_limited: int = 0


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], files: WorldFiles) -> None:
        self.files = files
        self.world = load_world(files)
        self.now = ANCHOR
        self.faults = FaultConfig()
        self.counters = Counters()
        self.rate_limits: dict[str, tuple[int, float]] = {}
        self._rate_windows: dict[str, tuple[float, int]] = {}
        self.request_log: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._fault_rng = random.Random(0)
        self._local = threading.local()
        self._current_cache: dict[tuple[str, int], str] = {}
        self._ordered_cache: dict[str, str] = {}
        self.state: dict[str, Any] = {}  # per-API mutable state (tokens, locators, exports)
        self.response_cache: ResponseCache | None = None
        self.routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        from . import amplitude, control, delighted, qualtrics, salesforce, zendesk

        for module in (control, salesforce, zendesk, qualtrics, delighted, amplitude):
            module.register(self)
        super().__init__(address, _RequestHandler)

    # -- routing -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, api: str) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler, api))

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    # -- data access -----------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self.world.cursor()
            self._local.cursor = cursor
        return cursor

    def current(self, table: str, key: str, extra_filter: str = "") -> str:
        """Name of a table holding the latest version per key visible at `now` (cached)."""
        cache_key = (table + extra_filter, self.now)
        with self.lock:
            name = self._current_cache.get(cache_key)
            if name is None:
                name = f"cur_{table}_{len(self._current_cache)}"
                where = f"_valid_from <= make_timestamp({self.now}::BIGINT * 1000000)"
                self.world.execute(f"""
                    CREATE OR REPLACE TABLE {name} AS
                    SELECT * FROM {table}
                    WHERE {where}
                    QUALIFY row_number() OVER (
                        PARTITION BY {key} ORDER BY _valid_from DESC
                    ) = 1
                """)
                if extra_filter:
                    self.world.execute(f"DELETE FROM {name} WHERE NOT ({extra_filter})")
                self._current_cache[cache_key] = name
            return name

    def in_change_order(self, table: str, key: str) -> str:
        """Name of a copy of `table` (a world table or a `current` one) in export order,
        with `__ts` (`epoch(_valid_from)` in whole seconds) and `__rn` (the row's place in
        `__ts, key` order), stored in that order (cached until the clock moves).

        Why: an export page is "the next N rows after a point in that order". Asked of
        the table as is, DuckDB builds every later row's JSON and sorts them all, for
        every page (quadratic in the table's size). Here the point is found in the first
        row group holding it (row-group statistics skip the others) and the page is the
        row-number range after it.
        """
        with self.lock:
            name = self._ordered_cache.get(table)
            if name is None:
                name = f"ord_{table}"
                self.world.execute(f"""
                    CREATE OR REPLACE TABLE {name} AS
                    SELECT *, epoch(_valid_from)::BIGINT AS __ts,
                           row_number() OVER (ORDER BY epoch(_valid_from)::BIGINT, {key}) AS __rn
                    FROM {table}
                    ORDER BY __rn
                """)
                self._ordered_cache[table] = name
            return name

    def set_now(self, now: int) -> None:
        if now > HORIZON:
            raise ValueError(
                f"the sandbox has no data past {datetime.fromtimestamp(HORIZON, UTC):%Y-%m-%d}"
            )
        with self.lock:
            self.now = now
            if self.response_cache is not None:
                self.response_cache.clear()
            for key in [key for key in self.state if key.startswith(PER_CLOCK_PREFIX)]:
                del self.state[key]
            for name in [*self._current_cache.values(), *self._ordered_cache.values()]:
                self.world.execute(f"DROP TABLE IF EXISTS {name}")
            self._current_cache.clear()
            self._ordered_cache.clear()

    def cache_responses(self, apis: set[str], max_bytes: int = 8 << 30) -> ResponseCache:
        """Replay the computed answers of `apis` from now on (see `ResponseCache`)."""
        unknown = set(apis) - {"zendesk", "amplitude", "delighted"}
        if unknown:
            raise ValueError(f"answers of {sorted(unknown)} depend on server state; not cached")
        self.response_cache = ResponseCache(set(apis), max_bytes)
        return self.response_cache

    # -- faults and limits -------------------------------------------------------------------
    def decide_fault(self, api: str) -> str | None:
        config = self.faults
        if config.apis and api not in config.apis:
            return None
        with self.lock:
            roll = self._fault_rng.random()
        for kind, rate in (
            ("429", config.rate_429),
            ("5xx", config.rate_5xx),
            ("drop", config.rate_drop),
            ("truncate", config.rate_truncate),
        ):
            if roll < rate:
                return kind
            roll -= rate
        return None

    def set_faults(self, **settings: Any) -> FaultConfig:
        with self.lock:
            self.faults = FaultConfig(**settings)
            self._fault_rng = random.Random(self.faults.seed)
            return self.faults

    def check_rate_limit(self, api: str) -> float | None:
        """Seconds to wait if `api` is over its window's budget, else None."""
        limit = self.rate_limits.get(api)
        if limit is None:
            return None
        budget, window = limit
        with self.lock:
            started, used = self._rate_windows.get(api, (time.monotonic(), 0))
            elapsed = time.monotonic() - started
            if elapsed >= window:
                started, used = time.monotonic(), 0
                elapsed = 0.0
            if used >= budget:
                return window - elapsed
            self._rate_windows[api] = (started, used + 1)
            return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (the dropped-connection faults, killed taps) are normal here;
        anything else is a sandbox bug and is printed as usual."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def log(self, entry: dict[str, Any]) -> None:
        with self.lock:
            if len(self.request_log) < 200_000:
                self.request_log.append(entry)

    def status(self) -> dict[str, Any]:
        return {
            "scale": self.files.manifest["scale"],
            "seed": self.files.manifest["seed"],
            "now": datetime.fromtimestamp(self.now, UTC).isoformat(),
            "now_epoch": self.now,
            "horizon": datetime.fromtimestamp(HORIZON, UTC).isoformat(),
            "faults": asdict(self.faults),
            "counters": asdict(self.counters),
            "rate_limits": {k: list(v) for k, v in self.rate_limits.items()},
        }


_DROP = object()


class _RequestHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    # Answers go out as one write with TCP_NODELAY: with headers and body written
    # separately, Nagle's algorithm held the body back until the client's delayed ACK
    # (~40 ms per request on a kept-alive connection).
    disable_nagle_algorithm = True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Real servers date their answers and clients read "now" from the `Date` header;
        the sandbox's now is simulated, so that is the clock this header must carry."""
        return formatdate(self.server.now if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the structured log, not stderr."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        server = self.server
        started = time.perf_counter()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = parse_qs(parts.query, keep_blank_values=True)
        response: Response | None = None
        api = "unknown"
        fault: str | None = None
        path_matched = False
        for route_method, pattern, handler, route_api in server.routes:
            match = pattern.match(parts.path)
            if match is None:
                continue
            path_matched = True
            if route_method != method:
                continue
            api = route_api
            request = Request(method, parts.path, query, headers, body, match, server)
            if api != "control":
                with server.lock:
                    server.counters.requests += 1
                if server.faults.latency_ms:
                    time.sleep(server.faults.latency_ms / 1000)
                fault = server.decide_fault(api)
                wait = server.check_rate_limit(api)
                if wait is not None:
                    with server.lock:
                        server.counters.rate_limited += 1
                    response = _too_many(api, wait)
                    break
            if fault == "429":
                with server.lock:
                    server.counters.faults_429 += 1
                response = _too_many(api, server.faults.retry_after_seconds)
                break
            if fault == "5xx":
                with server.lock:
                    server.counters.faults_5xx += 1
                response = Response.json({"error": "injected server error"}, 503)
                break
            if fault == "drop":
                with server.lock:
                    server.counters.faults_drop += 1
                self.close_connection = True
                server.log(_log_entry(method, parts.path, api, "drop", started))
                return
            cache = server.response_cache
            if cache is not None and api == "control" and method != "GET":
                cache.clear()
            cache_key = (f"{method} {self.path}", headers.get("authorization", ""))
            cached = cache.get(api, cache_key) if cache is not None else None
            if cached is not None:
                response = cached
                break
            try:
                response = handler(request)
                if cache is not None:
                    cache.put(api, cache_key, response)
            except ApiError as error:
                response = error.response
            except Exception as error:  # a sandbox bug must answer, not hang the client
                response = Response.json({"error": "InternalError", "detail": repr(error)}, 500)
            break
        if response is None and path_matched:
            response = Response.json({"error": "MethodNotAllowed"}, 405)
        if response is None:
            response = Response.json({"error": "InvalidEndpoint", "description": "Not found"}, 404)
        truncate = fault == "truncate" and len(response.body) > 2
        if truncate:
            with server.lock:
                server.counters.faults_truncate += 1
        self._send(response, truncate=truncate)
        server.log(_log_entry(method, parts.path, api, response.status, started))

    def _send(self, response: Response, truncate: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
        body = response.body[: len(response.body) // 2] if truncate else response.body
        # end_headers() would send the headers on their own; send them with the body.
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        try:
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if truncate:
            self.close_connection = True


def _too_many(api: str, wait: float) -> Response:
    seconds = max(1, int(wait + 0.999))
    headers = {"Retry-After": str(seconds)}
    if api == "zendesk":
        headers.update({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"})
        return Response.json({"error": "APIRateLimitExceeded"}, 429, headers)
    if api == "salesforce":
        # Salesforce's transient limit is the concurrent long-request one; its daily quota
        # (403, same errorCode) is fatal, so the message is what tells them apart.
        body = [
            {
                "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ]
        return Response.json(body, 429, headers)
    return Response.json({"error": "Too Many Requests"}, 429, headers)


def _log_entry(method: str, path: str, api: str, status: Any, started: float) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "api": api,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }


class RunningSandbox:
    """A sandbox server on a background thread (for tests, the CLI and the main job)."""

    def __init__(self, files: WorldFiles, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            self.server = SandboxServer((host, port), files)
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from error
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="cx360-sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        return self.server.base_url

    def __enter__(self) -> RunningSandbox:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
