"""Delighted streams: survey_responses (incremental on updated_at) and people."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import requests
from cx360_singer import normalize_utc, response_json, to_epoch
from singer_sdk.helpers.types import Context, Record
from singer_sdk.pagination import BaseAPIPaginator, HeaderLinkPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from .client import DelightedStream

SCHEMAS = resources.files(__package__) / "schemas"
Cursor = tuple[int, int]  # (updated_since, page)


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


_FAST_EPOCH_LIMIT = 100_000_000_000
"""Below this, `normalize_utc` reads an int as seconds (above, as milliseconds), and the
year has four digits, so `_utc_text` may format it directly."""


def _utc_text(value: Any) -> str | None:
    """`normalize_utc(int(value))`, without its general parsing for the usual whole
    non-negative seconds (`isoformat` of a whole second has no fraction: ".000000" is
    what `%f` writes)."""
    if value.__class__ is int and 0 <= value < _FAST_EPOCH_LIMIT:
        return datetime.fromtimestamp(value, UTC).isoformat()[:19] + ".000000Z"
    return normalize_utc(int(value))


def _iso_fields(row: Record, names: Iterable[str]) -> Record:
    """Delighted sends instants as unix seconds; cx360 emits them as UTC date-times."""
    for name in names:
        if row.get(name) is not None:
            row[name] = _utc_text(row[name])
    return row


class UpdatedSincePaginator(BaseAPIPaginator[Cursor]):
    """Keyset paging on `updated_at`: each request restarts from the last value seen.

    Why not plain `page=N`: the result set is ordered by `updated_at`, and a response edited
    while we page moves from an early page to the end, shifting every later row one place
    towards the front; the row that crosses the page boundary would be skipped, and since
    the bookmark then moves past its `updated_at`, skipped for good. Asking for
    `updated_since=<last updated_at seen>&page=1` instead makes each page depend on values,
    not positions. Only when a whole page shares one `updated_at` (more than `per_page`
    rows in one second) do we step `page` within that second.
    """

    def __init__(self, since: int, page_size: int) -> None:
        super().__init__((since, 1))
        self.page_size = page_size

    def has_more(self, response: requests.Response) -> bool:
        """A short page means everything updated since the cursor has been read."""
        return len(response_json(response)) >= self.page_size

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A full page can yield nothing new (all already emitted at the cursor second)."""
        return self.has_more(response)

    def get_next(self, response: requests.Response) -> Cursor | None:
        since, page = self.current_value
        last = to_epoch(response_json(response)[-1]["updated_at"])  # unix, or ISO once processed
        return (last, 1) if last > since else (since, page + 1)


class SurveyResponsesStream(DelightedStream):
    """`GET /survey_responses.json`, oldest change first, people expanded.

    Incremental on `updated_at` (editing a score, comment, note or tag bumps it). The API
    orders by it (`order=asc:updated_at`), so `is_sorted` holds and the bookmark advances
    per record: an interrupted sync resumes at the last emitted `updated_at`. Because
    `updated_since` is inclusive, rows updated in the bookmark's own second are read again
    by the next sync (the loader's upsert absorbs them); within one sync each (id,
    updated_at) is emitted once.
    """

    name = "survey_responses"
    path = "/survey_responses.json"
    primary_keys = ("id",)
    replication_key = "updated_at"
    is_sorted = True
    schema = _schema("survey_responses")

    def get_new_paginator(self) -> UpdatedSincePaginator:
        start = self.get_starting_replication_key_value(self.context)
        since = to_epoch(start) if start else 0
        self._cursor_second: int | None = None
        self._ids_in_cursor_second: set[str] = set()
        return UpdatedSincePaginator(since, self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        since, page = next_page_token
        return {
            "per_page": self.page_size,
            "page": page,
            "updated_since": since,
            "order": "asc:updated_at",
            "expand[]": "person",
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """Skip rows already emitted in this sync (re-read at a keyset page boundary)."""
        for row in response_json(response):
            second = int(row["updated_at"])
            if second != self._cursor_second:
                self._cursor_second, self._ids_in_cursor_second = second, set()
            elif row["id"] in self._ids_in_cursor_second:
                continue
            self._ids_in_cursor_second.add(row["id"])
            yield row

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        if isinstance(row.get("person"), str | int):  # not expanded (person not found)
            row["person"] = {"id": str(row["person"])}
        return _iso_fields(row, ("created_at", "updated_at"))


class PeopleStream(DelightedStream):
    """`GET /people.json`, following the `Link: rel="next"` cursor.

    Full table: the only filter, `since`, is on `created_at`, while a person's
    `last_sent_at`, `last_responded_at`, name and email change after creation; an
    incremental sync on `created_at` would keep stale rows forever. People number one per
    respondent, so reading them all each run is cheap.
    """

    name = "people"
    path = "/people.json"
    primary_keys = ("id",)
    replication_key = None
    schema = _schema("people")

    def get_new_paginator(self) -> HeaderLinkPaginator:
        return HeaderLinkPaginator()

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The next link carries every query parameter (`page_info` cursor included)."""
        request = super().get_http_request(page=page)
        if page.next_page_token:
            request.url = page.next_page_token.geturl()
            request.params = {}
        return request

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {"per_page": self.page_size}

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return _iso_fields(
            row, ("created_at", "last_sent_at", "last_responded_at", "next_survey_scheduled_at")
        )
