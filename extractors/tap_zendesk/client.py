"""Zendesk Support API base stream: auth, retries, paging styles, bookmarks.

Zendesk serves three paging styles, each a paginator here:

* cursor-based incremental exports (`/incremental/<resource>/cursor.json`): `start_time` on
  the first call, then `cursor=<after_cursor>` until `end_of_stream`; pages may be empty
  before the end, so paging must not stop at an empty page;
* time-based incremental exports (`/incremental/<resource>.json`): follow `next_page`
  (`start_time=<end_time>`) until `end_of_stream`; items at a page boundary repeat;
* cursor-paginated lists (`page[size]`, `page[after]`, `meta.has_more`).

Retries come from the shared kit (`cx360_singer.CX360RESTStream`): 429 with `Retry-After`
honoured (edge protection may answer 429 with an HTML body and no header: exponential
backoff then), 5xx, dropped connections and truncated bodies retried, all within a total
`max_retry_seconds` budget (default 300 s, above the 60 s window of Zendesk's
10-requests-per-minute limit on incremental exports).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
import requests
from cx360_singer import (
    CX360RESTStream,
    normalize_utc,
    require_env,
    response_json,
    to_epoch,
)
from cx360_singer.rest import _JSON_ATTR, error_message
from cx360_singer.timeutil import normalize_utc_or_keep
from requests.auth import HTTPBasicAuth
from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.types import Context, Record
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

CREDENTIAL_ENV = ("ZENDESK_EMAIL", "ZENDESK_API_TOKEN")
SCHEMAS_DIR = Path(__file__).parent / "schemas"
EXPORT_MAX_PAGE_SIZE = 1000
LIST_MAX_PAGE_SIZE = 100


def payload_of(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, parsed once (the kit caches it)."""
    payload = response_json(response)
    return payload if isinstance(payload, dict) else {}


_PAGE_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def _prime_json(response: requests.Response) -> None:
    """Parse the body with msgspec (several times faster than `json.loads` on a page of
    1,000 items) into the kit's cache, so `response_json` and the paginators reuse it.
    The same values as `json.loads(parse_float=Decimal)`; a body msgspec rejects is left
    to the kit, which parses (or rejects) it as before."""
    if getattr(response, _JSON_ATTR, None) is not None:
        return
    try:
        setattr(response, _JSON_ATTR, _PAGE_DECODER.decode(response.content))
    except (msgspec.DecodeError, TypeError):
        return


def credentials() -> tuple[str, str]:
    """(email, api_token) from the environment; fails listing every missing variable."""
    values = require_env(CREDENTIAL_ENV, "tap-zendesk")
    return values["ZENDESK_EMAIL"], values["ZENDESK_API_TOKEN"]


_WHOLE_SECOND_Z = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ"
)
"""Zendesk's usual instant, normalised by slicing: the general parser was most of the
per-row cost of a large export. Only for non-bookmark fields: a day 29-31 that its month
lacks passes here, to be rejected by the loader's cast like any malformed date."""


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


class ZendeskStream(CX360RESTStream):
    """Shared behaviour of every Zendesk stream.

    Subclasses set `resource_key` (the JSON key holding the page's items; defaults to the
    stream name) and, for incremental streams, whether `start_date` applies on a first
    sync (`applies_start_date`).
    """

    schema = StreamSchema(SchemaDirectory(SCHEMAS_DIR))  # schemas/<stream name>.json
    auth_error_hint = "check ZENDESK_EMAIL and ZENDESK_API_TOKEN (and API token access)"
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
    def page_size(self) -> int:
        """Items per request (each paging style overrides)."""
        return LIST_MAX_PAGE_SIZE

    @property
    def STATE_MSG_FREQUENCY(self) -> int:  # type: ignore[override]  # noqa: N802
        """A STATE message per page's worth of records (singer-sdk's default is 10,000),
        so an interrupted sync resumes re-reading at most about one page."""
        return self.page_size

    # -- responses --------------------------------------------------------------------
    def validate_response(self, response: requests.Response) -> None:
        """The kit's checks, plus: a 2xx body must be a JSON object whatever its
        Content-Type (a proxy's HTML page served as 200 is retried, not parsed)."""
        if 200 <= response.status_code < 300:
            self._prime_json(response)
        super().validate_response(response)
        try:
            payload = response_json(response)
        except ValueError:
            raise RetriableAPIError(f"{error_message(response)} (not JSON)", response) from None
        if not isinstance(payload, dict):
            raise RetriableAPIError(f"{error_message(response)} (not a JSON object)", response)

    def _prime_json(self, response: requests.Response) -> None:
        """Parse a 2xx body into the kit's cache (see `_prime_json`)."""
        _prime_json(response)

    # -- records ----------------------------------------------------------------------
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from self.page_items(payload_of(response))

    def page_items(self, payload: dict[str, Any]) -> list[Any]:
        """A page's items, in order: the list under `resource_key` (or the stream name).
        Both the RECORD and the BATCH path read pages through this."""
        return payload.get(self.resource_key or self.name) or []

    @cached_property
    def _instant_fields(self) -> list[str]:
        properties = self.schema.get("properties", {})
        return [name for name, spec in properties.items() if spec.get("format") == "date-time"]

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Emit every top-level instant in one UTC format. A malformed one is left for the
        loader to quarantine, unless it is the bookmark (then the sync must stop)."""
        for name in self._instant_fields:
            value = row.get(name)
            if value is None:
                continue
            if name == self.replication_key:
                row[name] = normalize_utc(value)
            elif value.__class__ is str and len(value) == 20 and _WHOLE_SECOND_Z.fullmatch(value):
                row[name] = f"{value[:19]}.000000Z"  # the usual shape, without parsing
            else:
                row[name] = normalize_utc_or_keep(value)
        return row

    def _item_filter(self) -> Callable[[Iterable[dict[str, Any]]], Iterator[dict[str, Any]]]:
        """What `get_records` does to the items of the pages, for paths that read pages
        themselves (BATCH mode): nothing here; time exports drop page-boundary repeats."""
        return iter

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
    """Cursor-based incremental export, ordered by `generated_timestamp`. `include` (the
    sideloads, comma-separated) goes on every request: the cursor carries no options."""

    replication_key = "generated_timestamp"
    is_sorted = True
    include: str | None = None

    @property
    def page_size(self) -> int:
        return min(int(self.config.get("export_page_size", EXPORT_MAX_PAGE_SIZE)), 1000)

    def get_new_paginator(self) -> CursorExportPaginator:
        return CursorExportPaginator()

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": self.page_size}
        if self.include:
            params["include"] = self.include
        if next_page_token:
            params["cursor"] = next_page_token
        else:
            params["start_time"] = self.start_epoch(context)
        return params


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
        yield from self._item_filter()(super().get_records(context))

    def _item_filter(self) -> Callable[[Iterable[dict[str, Any]]], Iterator[dict[str, Any]]]:
        """Drops the repeats at page boundaries; one filter per sync (it remembers the
        ids of the last second seen)."""
        assert self.replication_key
        key = self.replication_key
        boundary: Any = object()
        seen: set[Any] = set()

        def drop_repeats(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            nonlocal boundary, seen
            for record in records:
                value = record.get(key)
                if value == boundary:
                    if record["id"] in seen:
                        continue
                    seen.add(record["id"])
                else:
                    boundary, seen = value, {record["id"]}
                yield record

        return drop_repeats


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
