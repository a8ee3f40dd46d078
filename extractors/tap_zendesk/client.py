"""Zendesk Support API base stream: auth, retries, paging styles, bookmarks.

Zendesk serves three paging styles, each a paginator here:

* cursor-based incremental exports (`/incremental/<resource>/cursor.json`): `start_time` on
  the first call, then `cursor=<after_cursor>` until `end_of_stream`; pages may be empty
  before the end, so paging must not stop at an empty page;
* time-based incremental exports (`/incremental/<resource>.json`): follow `next_page`
  (`start_time=<end_time>`) until `end_of_stream`; items at a page boundary repeat;
* cursor-paginated lists (`page[size]`, `page[after]`, `meta.has_more`).

Why the retry loop is custom: singer-sdk's backoff ignores `Retry-After` and bounds tries,
not time. Zendesk answers 429 with `Retry-After` (edge protection may answer 429 with an
HTML body and no header), and real incremental exports allow 10 requests/minute, so waits
are honoured and bounded by a total `max_retry_seconds` budget instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.auth import HTTPBasicAuth
from singer_sdk import RESTStream, SchemaDirectory, StreamSchema
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.types import Context, Record
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_zendesk._kit import (
    endpoint,
    normalize_utc,
    parse_retry_after,
    redact,
    require_env,
    to_epoch,
)

CREDENTIAL_ENV = ("ZENDESK_EMAIL", "ZENDESK_API_TOKEN")
SCHEMAS_DIR = Path(__file__).parent / "schemas"
DEFAULT_MAX_RETRY_SECONDS = 300
EXPORT_MAX_PAGE_SIZE = 1000
LIST_MAX_PAGE_SIZE = 100

_RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
_PAYLOAD_ATTR = "_tap_zendesk_payload"


def payload_of(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, parsed once (validate_response caches it)."""
    cached = getattr(response, _PAYLOAD_ATTR, None)
    if cached is None:
        cached = response.json()
        setattr(response, _PAYLOAD_ATTR, cached)
    return cached


def credentials() -> tuple[str, str]:
    """(email, api_token) from the environment; fails listing every missing variable."""
    values = require_env(CREDENTIAL_ENV, "tap-zendesk")
    return values["ZENDESK_EMAIL"], values["ZENDESK_API_TOKEN"]


# -- paginators ----------------------------------------------------------------------------


class CursorExportPaginator(BaseAPIPaginator[str | None]):
    """`after_cursor` until `end_of_stream`; empty pages before the end are skipped over."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        return not payload_of(response).get("end_of_stream", True)

    def get_next(self, response: requests.Response) -> str | None:
        return payload_of(response).get("after_cursor")

    def continue_if_empty(self, response: requests.Response) -> bool:
        return self.has_more(response)


class TimeExportPaginator(BaseAPIPaginator[dict[str, str] | None]):
    """Follows `next_page` (as its query parameters) until `end_of_stream`."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        return not payload_of(response).get("end_of_stream", True)

    def get_next(self, response: requests.Response) -> dict[str, str] | None:
        next_page = payload_of(response).get("next_page")
        if not next_page:
            return None
        return dict(parse_qsl(urlsplit(next_page).query, keep_blank_values=True))

    def continue_if_empty(self, response: requests.Response) -> bool:
        return self.has_more(response)


class CursorListPaginator(BaseAPIPaginator[str | None]):
    """`meta.after_cursor` while `meta.has_more`."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        return bool((payload_of(response).get("meta") or {}).get("has_more"))

    def get_next(self, response: requests.Response) -> str | None:
        return (payload_of(response).get("meta") or {}).get("after_cursor")


# -- base stream -----------------------------------------------------------------------------


class ZendeskStream(RESTStream[Any]):
    """Shared behaviour of every Zendesk stream.

    Subclasses set `resource_key` (the JSON key holding the page's items; defaults to the
    stream name) and, for incremental streams, whether `start_date` applies on a first
    sync (`applies_start_date`).
    """

    schema = StreamSchema(SchemaDirectory(SCHEMAS_DIR))  # schemas/<stream name>.json
    resource_key: str | None = None
    applies_start_date: bool = True
    """Dimension streams (users, organizations) ignore `start_date` on a first sync:
    tickets inside the window reference users and organizations created long before."""

    # -- connection -------------------------------------------------------------------
    @property
    def url_base(self) -> str:
        base = self.config.get("base_url")
        if not base:
            subdomain = self.config.get("subdomain")
            if not subdomain:
                raise FatalAPIError("tap-zendesk: set config `subdomain` or `base_url`")
            base = f"https://{subdomain}.zendesk.com/api/v2"
        return str(base).rstrip("/")

    @cached_property
    def _auth(self) -> HTTPBasicAuth:
        email, token = credentials()
        return HTTPBasicAuth(f"{email}/token", token)

    @property
    def authenticator(self) -> HTTPBasicAuth:  # type: ignore[override]
        return self._auth

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @property
    def timeout(self) -> int:
        return 120

    @property
    def page_size(self) -> int:
        """Items per request (each paging style overrides)."""
        return LIST_MAX_PAGE_SIZE

    @property
    def STATE_MSG_FREQUENCY(self) -> int:  # type: ignore[override]  # noqa: N802
        """A STATE message per page's worth of records (singer-sdk's default is 10,000),
        so an interrupted sync resumes re-reading at most about one page."""
        return self.page_size

    # -- retries ----------------------------------------------------------------------
    @property
    def max_retry_seconds(self) -> float:
        return float(self.config.get("max_retry_seconds", DEFAULT_MAX_RETRY_SECONDS))

    def retry_wait(self, error: BaseException, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (1-based).

        `Retry-After` wins when present (plus a little jitter so parallel clients do not
        return in lockstep); otherwise exponential backoff from 0.5 s with jitter, capped
        at 60 s.
        """
        response = getattr(error, "response", None)
        if isinstance(response, requests.Response):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return retry_after + random.uniform(0, 0.25)
        return min(60.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Retry transient failures within a total wait budget (`max_retry_seconds`)."""

        def call(prepared_request: requests.PreparedRequest, context: Context | None) -> Any:
            waited, attempt = 0.0, 0
            while True:
                attempt += 1
                try:
                    return func(prepared_request, context)
                except _RETRIABLE_EXCEPTIONS as error:
                    wait = self.retry_wait(error, attempt)
                    if waited + wait > self.max_retry_seconds:
                        raise FatalAPIError(
                            f"Zendesk {self._endpoint(prepared_request)}: giving up after "
                            f"{attempt} attempt(s) and {waited:.0f}s of waiting "
                            f"(max_retry_seconds={self.max_retry_seconds:g}, next wait "
                            f"{wait:.0f}s); last error: {self._describe(error)}"
                        ) from error
                    self.logger.warning(
                        "Zendesk %s: %s; retry %d in %.1fs",
                        self._endpoint(prepared_request),
                        self._describe(error),
                        attempt,
                        wait,
                    )
                    time.sleep(wait)
                    waited += wait

        return call

    @staticmethod
    def _endpoint(request: requests.PreparedRequest | requests.Response) -> str:
        return endpoint(request.url)

    @staticmethod
    def _describe(error: BaseException) -> str:
        if isinstance(error, RetriableAPIError):
            return redact(str(error))
        return redact(f"{type(error).__name__}: {error}")

    def validate_response(self, response: requests.Response) -> None:
        """429/5xx and unparsable bodies (truncated transfers) are retriable; other 4xx are
        fatal with the endpoint and status named."""
        status = response.status_code
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status == HTTPStatus.UNAUTHORIZED:
            raise FatalAPIError(
                f"Zendesk {self._endpoint(response)}: 401 Unauthorized; check "
                "ZENDESK_EMAIL and ZENDESK_API_TOKEN (and the account's API token access)"
            )
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(self.response_error_message(response))
        try:
            payload = response.json()
        except ValueError:
            raise RetriableAPIError(
                f"Zendesk {self._endpoint(response)}: {status} with an invalid or truncated "
                f"JSON body ({len(response.content)} bytes)",
                response,
            ) from None
        if not isinstance(payload, dict):
            raise RetriableAPIError(
                f"Zendesk {self._endpoint(response)}: expected a JSON object, got "
                f"{type(payload).__name__}",
                response,
            )
        setattr(response, _PAYLOAD_ATTR, payload)

    def response_error_message(self, response: requests.Response) -> str:
        """Endpoint path (never the query or headers), status and a short body excerpt."""
        excerpt = redact(response.text[:300].replace("\n", " ")) if response.content else ""
        return f"Zendesk {self._endpoint(response)}: {response.status_code} {response.reason}" + (
            f": {excerpt}" if excerpt else ""
        )

    # -- records ----------------------------------------------------------------------
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from payload_of(response).get(self.resource_key or self.name) or []

    @cached_property
    def _instant_fields(self) -> list[str]:
        properties = self.schema.get("properties", {})
        return [name for name, spec in properties.items() if spec.get("format") == "date-time"]

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Emit every top-level instant in one UTC format."""
        for name in self._instant_fields:
            if row.get(name) is not None:
                row[name] = normalize_utc(row[name])
        return row

    # -- bookmarks --------------------------------------------------------------------
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: singer-sdk's is the local wall clock, and "now" must come from the
        server. Bookmarks are the highest value seen, which is always safe to resume from."""
        return None

    def start_epoch(self, context: Context | None) -> int:
        """`start_time` for the first request: the bookmark, or `start_date` when it is
        later (or when there is no bookmark and the stream honours it), else 0."""
        state = self.get_context_state(context)
        candidates: list[int] = []
        if state.get("replication_key") == self.replication_key:
            bookmark = state.get("replication_key_value")
            if bookmark not in (None, ""):
                candidates.append(to_epoch(bookmark))
        start_date = self.config.get("start_date")
        if start_date and (self.applies_start_date or candidates):
            candidates.append(to_epoch(start_date))
        return max(candidates) if candidates else 0

    def compare_start_date(self, value: str, start_date_value: str) -> str:
        """Integer (epoch) bookmarks compare with the ISO `start_date` numerically."""
        if self.is_timestamp_replication_key:
            return super().compare_start_date(value, start_date_value)
        return value if to_epoch(value) >= to_epoch(start_date_value) else start_date_value


# -- paging styles ----------------------------------------------------------------------------


class CursorExportStream(ZendeskStream):
    """Cursor-based incremental export, ordered by `generated_timestamp`."""

    replication_key = "generated_timestamp"
    is_sorted = True

    @property
    def page_size(self) -> int:
        return min(int(self.config.get("export_page_size", EXPORT_MAX_PAGE_SIZE)), 1000)

    def get_new_paginator(self) -> CursorExportPaginator:
        return CursorExportPaginator()

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        if next_page_token:
            return {"cursor": next_page_token, "per_page": self.page_size}
        return {"start_time": self.start_epoch(context), "per_page": self.page_size}


class TimeExportStream(ZendeskStream):
    """Time-based incremental export. Items whose ordering value equals a page's
    `end_time` are served again on the next page; they are dropped here by (id, value)
    at the boundary, which needs memory for one second's items, not the whole sync."""

    is_sorted = True
    include: str | None = None

    @property
    def page_size(self) -> int:
        return min(int(self.config.get("export_page_size", EXPORT_MAX_PAGE_SIZE)), 1000)

    def get_new_paginator(self) -> TimeExportPaginator:
        return TimeExportPaginator()

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": self.page_size}
        if self.include:
            params["include"] = self.include
        if next_page_token:
            params.update(next_page_token)
        else:
            params["start_time"] = self.start_epoch(context)
        return params

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        assert self.replication_key
        boundary: Any = object()
        seen: set[Any] = set()
        for record in super().get_records(context):
            value = record.get(self.replication_key)
            if value == boundary:
                if record["id"] in seen:
                    continue
                seen.add(record["id"])
            else:
                boundary, seen = value, {record["id"]}
            yield record


class CursorListStream(ZendeskStream):
    """Cursor-paginated list endpoint (`page[size]` ≤ 100)."""

    @property
    def page_size(self) -> int:
        return min(int(self.config.get("page_size", LIST_MAX_PAGE_SIZE)), LIST_MAX_PAGE_SIZE)

    def get_new_paginator(self) -> CursorListPaginator:
        return CursorListPaginator()

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"page[size]": self.page_size}
        if next_page_token:
            params["page[after]"] = next_page_token
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.safe_query_chars = "[]"  # readable logs; Zendesk accepts both spellings
        return request
