"""Zendesk Support streams.

Bookmarks (all resumable: a crash restarts at the last bookmark, re-reading at most the
items that share the bookmark's second, which the loader's upsert absorbs):

* tickets, users — `generated_timestamp` (epoch seconds), the order of the cursor export;
  a restart sends `start_time=<bookmark>`.
* ticket_metrics — the same export of tickets, with the metric sets sideloaded: each set
  carries its ticket's `generated_timestamp`, so it bookmarks and resumes as tickets do.
* organizations — `updated_at`, the order of the time-based export (`start_time` is its
  epoch). `end_time` would also work, but it is not a record field, so it could not be
  bookmarked per record by singer-sdk; `updated_at` of the last item *is* that page's
  `end_time`, so the two agree.
* ticket_events — `timestamp` (epoch seconds), the order of its time-based export.
* satisfaction_ratings — `updated_at` via `start_time`, but the list is ordered by id, so
  the bookmark only advances when the stream completes (singer-sdk progress markers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

import msgspec
import requests
from cx360_singer import hash_fields, pii_salt
from cx360_singer.rest import _JSON_ATTR
from msgspec import UNSET
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.types import Context, Record

from tap_zendesk.batch import (
    DEFAULT_BATCH_SIZE_ROWS,
    PAGE_ENVELOPE,
    BatchFilesStream,
    StructPlan,
)
from tap_zendesk.client import (
    CursorExportStream,
    CursorListStream,
    TimeExportStream,
    ZendeskStream,
)

__all__ = ["DEFAULT_BATCH_SIZE_ROWS", "STREAM_TYPES"]
COMMENT_BODY_FIELDS = (
    "child_events.body",
    "child_events.html_body",
    "child_events.plain_body",
)
TICKET_BODY_FIELDS = ("description",)
"""A ticket's description is the text of its first comment."""


def _stamp_deleted_at(
    rows: list[Any], attrs: Mapping[str, str], flag: str, deleted: Callable[[Any], bool]
) -> None:
    """Struct rows' `_sdc_deleted_at`: a row's `updated_at` when `deleted(row.<flag>)`
    says the source marks it deleted (as `post_process` does for dict rows)."""
    updated, stamp, marked = attrs["updated_at"], attrs["_sdc_deleted_at"], attrs[flag]
    for row in rows:
        updated_at = getattr(row, updated)
        stamped = updated_at is not UNSET and deleted(getattr(row, marked))
        setattr(row, stamp, updated_at if stamped else None)


class CommentBodyHashing(BatchFilesStream):
    """`hash_comment_bodies`: comment texts leave the tap as salted hashes, in RECORD and
    BATCH mode alike (anything written to a BATCH file bypasses stream maps)."""

    comment_body_fields: tuple[str, ...] = ()

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        if self.config.get("hash_comment_bodies"):
            # Exact text (normalize=False): bodies are not identifiers to casefold.
            row = hash_fields(row, self.comment_body_fields, self._salt, normalize=False)
        return row

    def _struct_plan(self) -> StructPlan | None:
        """Hashing needs the bodies decoded: rows are dicts then."""
        if self.config.get("hash_comment_bodies"):
            return None
        return super()._struct_plan()

    @property
    def _salt(self) -> str:
        salt = getattr(self, "_cached_salt", None)
        if salt is None:
            salt = self._cached_salt = pii_salt()
        return salt


class TicketsStream(CursorExportStream, CommentBodyHashing):
    """Tickets from the cursor-based incremental export (BATCH files by default: a
    million-ticket account is too many rows for RECORD messages).

    Deleted tickets stay in the export with `status: "deleted"`; they are soft-deleted
    downstream through `_sdc_deleted_at` (their last `updated_at`). Zendesk leaves out
    tickets changed during the last minute; the next sync picks them up because the
    bookmark is the newest `generated_timestamp` actually received.
    """

    name = "tickets"
    path = "/incremental/tickets/cursor.json"
    primary_keys = ("id",)
    comment_body_fields = TICKET_BODY_FIELDS
    struct_values_read = ("status",)

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("updated_at") if row.get("status") == "deleted" else None
        return row

    def struct_post_process(self, rows: list[Any], attrs: Mapping[str, str]) -> None:
        super().struct_post_process(rows, attrs)
        _stamp_deleted_at(rows, attrs, "status", lambda status: status == "deleted")


class UsersStream(CursorExportStream, BatchFilesStream):
    """Users from the cursor-based incremental export (BATCH files by default).

    Zendesk keeps deleted users with `active: false`; they are soft-deleted downstream
    through `_sdc_deleted_at` (their last `updated_at`). Suspension is not deletion.
    """

    name = "users"
    path = "/incremental/users/cursor.json"
    primary_keys = ("id",)
    applies_start_date = False
    struct_values_read = ("active",)

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("updated_at") if row.get("active") is False else None
        return row

    def struct_post_process(self, rows: list[Any], attrs: Mapping[str, str]) -> None:
        super().struct_post_process(rows, attrs)
        _stamp_deleted_at(rows, attrs, "active", lambda active: active is False)


class OrganizationsStream(TimeExportStream):
    """Organizations from the time-based incremental export (`deleted_at` set on deleted
    organizations, mirrored into `_sdc_deleted_at`)."""

    name = "organizations"
    path = "/incremental/organizations.json"
    primary_keys = ("id",)
    replication_key = "updated_at"
    applies_start_date = False

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("deleted_at")
        return row


class GroupsStream(CursorListStream):
    """Groups (a handful per account): full table."""

    name = "groups"
    path = "/groups.json"
    primary_keys = ("id",)

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("updated_at") if row.get("deleted") else None
        return row


class TicketMetricsStream(CursorExportStream, BatchFilesStream):
    """Ticket metric sets, sideloaded on the ticket export (`include=metric_sets`): each
    page brings the metric set of each of its tickets. BATCH files by default, like
    tickets (one row per ticket).

    Cost: one pass over the ticket export from the bookmark on, 1,000 tickets per
    request: about 1,000 requests for a first sync of a million tickets, and an
    incremental sync reads only the tickets changed since (the `/ticket_metrics` list has
    no time filter: 10,000 requests of 100 on every sync). They count against the
    incremental-export limit (10 requests/min), as the tickets stream's own pass over the
    same export does, not the account's shared limit. The tickets in the pages are read
    for their ids and `generated_timestamp` only; the tickets stream loads them.

    Each metric set gets its ticket's `generated_timestamp` and comes in ticket order, so
    the bookmark, resume and `start_date` rules are those of tickets. Metric sets of
    tickets changed during the export's last-minute exclusion come with those tickets on
    the next sync.
    """

    name = "ticket_metrics"
    path = "/incremental/tickets/cursor.json"
    primary_keys = ("id",)
    include = "metric_sets"

    def page_items(self, payload: dict[str, Any]) -> list[Any]:
        return metric_sets_of(payload)

    def _struct_plan(self) -> StructPlan | None:
        """Items come from two lists of the page: rows are dicts."""
        return None

    def _prime_json(self, response: requests.Response) -> None:
        """Decode a page keeping only what the metric sets need of its tickets (about a
        third of the cost of building every ticket's dict); a page of another shape is
        parsed whole, as for any stream."""
        if getattr(response, _JSON_ATTR, None) is not None:
            return
        try:
            page = _SIDELOAD_PAGE.decode(response.content)
        except (msgspec.DecodeError, TypeError):
            super()._prime_json(response)
            return
        payload = {
            key: value for key, value in msgspec.structs.asdict(page).items() if value is not UNSET
        }
        if "tickets" in payload:
            payload["tickets"] = msgspec.to_builtins(payload["tickets"])  # UNSET: key absent
        setattr(response, _JSON_ATTR, payload)


class _TicketPlace(msgspec.Struct):
    """What a metric set needs of its ticket (a key the ticket lacks stays UNSET)."""

    id: Any = UNSET
    generated_timestamp: Any = UNSET


_SIDELOAD_PAGE = msgspec.json.Decoder(
    msgspec.defstruct(
        "TicketMetricSetsPage",
        [
            ("tickets", list[_TicketPlace] | msgspec.UnsetType, UNSET),
            ("metric_sets", list[dict[str, Any]] | msgspec.UnsetType, UNSET),
            *[(key, Any | msgspec.UnsetType, UNSET) for key in PAGE_ENVELOPE],
        ],
    ),
    float_hook=Decimal,
)


def metric_sets_of(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ticket-export page's sideloaded metric sets, each given its ticket's
    `generated_timestamp`, in the order of their tickets (the export's order).

    Joined on `ticket_id`. A ticket without an `id` (malformed; the loader quarantines it
    from the tickets stream) keeps its metric set: that set is matched by position when
    the sideload holds one set per ticket in the page's order, which the tickets that do
    have an id confirm. Any other set whose ticket is not in the page is an error: it
    would have no place in the export's order.
    """
    tickets: list[dict[str, Any]] = page.get("tickets") or []
    sets: list[dict[str, Any]] = page.get("metric_sets") or []
    if not sets:
        return []
    places = {ticket["id"]: index for index, ticket in enumerate(tickets) if "id" in ticket}
    aligned: bool | None = None
    placed: list[tuple[int, dict[str, Any]]] = []
    for index, metric_set in enumerate(sets):
        place = places.get(metric_set.get("ticket_id"))
        if place is None:
            if aligned is None:
                aligned = len(sets) == len(tickets) and all(
                    "id" not in ticket or ticket["id"] == each.get("ticket_id")
                    for ticket, each in zip(tickets, sets, strict=True)
                )
            if not aligned or "id" in tickets[index]:
                raise FatalAPIError(
                    f"ticket_metrics: metric set {metric_set.get('id')} is for ticket "
                    f"{metric_set.get('ticket_id')}, which is not in its page of the ticket "
                    "export, so it has no generated_timestamp to order and bookmark it by"
                )
            place = index
        metric_set["generated_timestamp"] = tickets[place].get("generated_timestamp")
        placed.append((place, metric_set))
    placed.sort(key=itemgetter(0))
    return [metric_set for _, metric_set in placed]


class SatisfactionRatingsStream(CursorListStream, BatchFilesStream):
    """Satisfaction ratings since `start_time` (filtered on `updated_at`, so an offered
    rating that is answered later is read again). Ordered by id, hence `is_sorted =
    False`: the bookmark (max `updated_at`) is only committed when the stream completes,
    and an interrupted sync re-reads from the previous bookmark. BATCH files by default
    (half a million ratings at `medium`)."""

    name = "satisfaction_ratings"
    path = "/satisfaction_ratings.json"
    primary_keys = ("id",)
    replication_key = "updated_at"
    is_sorted = False

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        params["start_time"] = self.start_epoch(context)
        return params

    def start_epoch(self, context: Context | None) -> int:
        """Frozen at the first request: the bookmark moves while this unsorted stream
        is read, and every page must use the same filter."""
        if not hasattr(self, "_frozen_start"):
            self._frozen_start = super().start_epoch(context)
        return self._frozen_start


class TicketEventsStream(TimeExportStream, CommentBodyHashing):
    """Ticket audit events with comment bodies (`include=comment_events`).

    High volume, so by default (`batch_mode: true`) rows go to the loader as Singer
    BATCH messages (gzip JSONL files) rather than RECORD messages; comment bodies are
    hashed here with `hash_comment_bodies`. `timestamp` orders the export; page-boundary
    repeats are dropped by the base class.
    """

    name = "ticket_events"
    path = "/incremental/ticket_events.json"
    primary_keys = ("id",)
    replication_key = "timestamp"
    include = "comment_events"
    comment_body_fields = COMMENT_BODY_FIELDS


STREAM_TYPES: list[type[ZendeskStream]] = [
    TicketsStream,
    UsersStream,
    OrganizationsStream,
    GroupsStream,
    TicketMetricsStream,
    SatisfactionRatingsStream,
    TicketEventsStream,
]
