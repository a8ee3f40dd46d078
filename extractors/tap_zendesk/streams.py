"""Zendesk Support streams.

Bookmarks (all resumable: a crash restarts at the last bookmark, re-reading at most the
items that share the bookmark's second, which the loader's upsert absorbs):

* tickets, users — `generated_timestamp` (epoch seconds), the order of the cursor export;
  a restart sends `start_time=<bookmark>`.
* organizations — `updated_at`, the order of the time-based export (`start_time` is its
  epoch). `end_time` would also work, but it is not a record field, so it could not be
  bookmarked per record by singer-sdk; `updated_at` of the last item *is* that page's
  `end_time`, so the two agree.
* ticket_events — `timestamp` (epoch seconds), the order of its time-based export.
* satisfaction_ratings — `updated_at` via `start_time`, but the list is ordered by id, so
  the bookmark only advances when the stream completes (singer-sdk progress markers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cx360_singer import hash_fields, pii_salt
from msgspec import UNSET
from singer_sdk.helpers.types import Context, Record

from tap_zendesk.batch import DEFAULT_BATCH_SIZE_ROWS, BatchFilesStream, StructPlan
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


class TicketsStream(CursorExportStream, BatchFilesStream):
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

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("updated_at") if row.get("status") == "deleted" else None
        return row

    def struct_post_process(self, row: Any, attrs: Mapping[str, str]) -> None:
        super().struct_post_process(row, attrs)
        updated_at = getattr(row, attrs["updated_at"])
        deleted = getattr(row, attrs["status"]) == "deleted" and updated_at is not UNSET
        setattr(row, attrs["_sdc_deleted_at"], updated_at if deleted else None)


class UsersStream(CursorExportStream):
    """Users from the cursor-based incremental export.

    Zendesk keeps deleted users with `active: false`; they are soft-deleted downstream
    through `_sdc_deleted_at` (their last `updated_at`). Suspension is not deletion.
    """

    name = "users"
    path = "/incremental/users/cursor.json"
    primary_keys = ("id",)
    applies_start_date = False

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["_sdc_deleted_at"] = row.get("updated_at") if row.get("active") is False else None
        return row


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


class TicketMetricsStream(CursorListStream):
    """Ticket metrics: full table on every sync.

    Cost: the endpoint has no time filter, so each sync reads one row per ticket ever
    created, 100 per request — about 10,000 requests per million tickets against the
    account's shared rate limit (700/min on Enterprise). Schedule it less often than the
    incremental streams on large accounts, or derive metrics from `ticket_events`.
    """

    name = "ticket_metrics"
    path = "/ticket_metrics.json"
    primary_keys = ("id",)


class SatisfactionRatingsStream(CursorListStream):
    """Satisfaction ratings since `start_time` (filtered on `updated_at`, so an offered
    rating that is answered later is read again). Ordered by id, hence `is_sorted =
    False`: the bookmark (max `updated_at`) is only committed when the stream completes,
    and an interrupted sync re-reads from the previous bookmark."""

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


class TicketEventsStream(TimeExportStream, BatchFilesStream):
    """Ticket audit events with comment bodies (`include=comment_events`).

    High volume, so by default (`batch_mode: true`) rows go to the loader as Singer
    BATCH messages (gzip JSONL files) rather than RECORD messages. Anything written to a
    file bypasses stream maps, so comment-body masking (`hash_comment_bodies`) is done
    here, in both modes alike. `timestamp` orders the export; page-boundary repeats are
    dropped by the base class.
    """

    name = "ticket_events"
    path = "/incremental/ticket_events.json"
    primary_keys = ("id",)
    replication_key = "timestamp"
    include = "comment_events"

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        if self.config.get("hash_comment_bodies"):
            # Exact text (normalize=False): bodies are not identifiers to casefold.
            row = hash_fields(row, COMMENT_BODY_FIELDS, self._salt, normalize=False)
        return row

    def _struct_plan(self) -> StructPlan | None:
        """Hashing needs the comment bodies decoded: rows are dicts then."""
        if self.config.get("hash_comment_bodies"):
            return None
        return super()._struct_plan()

    @property
    def _salt(self) -> str:
        salt = getattr(self, "_cached_salt", None)
        if salt is None:
            salt = self._cached_salt = pii_salt()
        return salt


STREAM_TYPES: list[type[ZendeskStream]] = [
    TicketsStream,
    UsersStream,
    OrganizationsStream,
    GroupsStream,
    TicketMetricsStream,
    SatisfactionRatingsStream,
    TicketEventsStream,
]
