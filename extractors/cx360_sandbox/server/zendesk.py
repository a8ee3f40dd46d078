"""Zendesk Support API imitation.

- Cursor-based incremental exports for tickets and users (`start_time` on the first call,
  then `cursor`; `after_cursor`, `end_of_stream`), ordered by `generated_timestamp`. The
  ticket export sideloads `metric_sets` with `include=metric_sets` (a comma-separated list;
  names it does not know are ignored, as Zendesk ignores them): the current metric set of
  each ticket of the page, in the page's order.
- Time-based incremental exports for organizations and ticket events (`start_time`,
  `next_page`, `end_time`, `count`, `end_of_stream`; duplicates at page boundaries, as the
  docs warn).
- Cursor-paginated lists (`page[size]`, `page[after]`, `meta.has_more`, `links.next`) for
  groups, organizations, ticket_metrics (every metric set, unfiltered: the sideload is the
  incremental way) and satisfaction_ratings.
Auth is HTTP Basic `{email}/token:{api_token}`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from .core import ApiError, Request, Response, SandboxServer

PREFIX = "/zendesk/api/v2"
RECENT_EXCLUSION_SECONDS = 60  # items changed within the last minute are not exported yet


def _error(status: int, error: str, description: str) -> ApiError:
    return ApiError(Response.json({"error": error, "description": description}, status))


def _authorise(request: Request) -> None:
    creds = request.server.state["credentials"]
    header = request.headers.get("authorization", "")
    expected = f"{creds['ZENDESK_EMAIL']}/token:{creds['ZENDESK_API_TOKEN']}"
    if header.startswith("Basic "):
        try:
            supplied = base64.b64decode(header[6:]).decode()
        except ValueError:
            supplied = ""
        if supplied == expected:
            return
    raise ApiError(Response.json({"error": "Couldn't authenticate you"}, 401))


def _int_arg(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _error(400, "InvalidValue", f"{name} must be an integer, got {raw!r}") from None


def _iso(column: str) -> str:
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"


# Output shape per resource: JSON keys → SQL expressions over the current-version table.
_TICKET_FIELDS = {
    "id": "id", "url": "'{base}/tickets/' || id || '.json'", "external_id": "external_id",
    "type": "type", "subject": "subject", "raw_subject": "subject",
    "description": "description", "priority": "priority", "status": "status",
    "recipient": "NULL", "requester_id": "requester_id", "submitter_id": "submitter_id",
    "assignee_id": "assignee_id", "organization_id": "organization_id",
    "group_id": "group_id", "collaborator_ids": "'[]'::JSON", "follower_ids": "'[]'::JSON",
    "has_incidents": "false", "is_public": "true", "due_at": "NULL", "tags": "tags",
    "custom_fields": "'[]'::JSON", "satisfaction_rating": "satisfaction_rating",
    "via": "via", "created_at": _iso("created_at"), "updated_at": _iso("updated_at"),
    "generated_timestamp": "epoch(_valid_from)::BIGINT",
}  # fmt: skip
_USER_FIELDS = {
    "id": "id", "url": "'{base}/users/' || id || '.json'", "name": "name", "email": "email",
    "role": "role", "organization_id": "organization_id", "active": "active",
    "verified": "verified", "suspended": "suspended", "time_zone": "time_zone",
    "locale": "locale", "tags": "tags", "user_fields": "user_fields",
    "external_id": "external_id", "created_at": _iso("created_at"),
    "updated_at": _iso("updated_at"), "last_login_at": _iso("last_login_at"),
    "generated_timestamp": "epoch(_valid_from)::BIGINT",
}  # fmt: skip
_ORG_FIELDS = {
    "id": "id", "url": "'{base}/organizations/' || id || '.json'", "name": "name",
    "domain_names": "domain_names", "external_id": "external_id", "group_id": "group_id",
    "shared_tickets": "shared_tickets", "shared_comments": "shared_comments",
    "tags": "tags", "organization_fields": "organization_fields", "details": "details",
    "notes": "notes", "created_at": _iso("created_at"), "updated_at": _iso("updated_at"),
    "deleted_at": _iso("deleted_at"),
}  # fmt: skip
_GROUP_FIELDS = {
    "id": "id", "url": "'{base}/groups/' || id || '.json'", "name": "name",
    "description": "description", "default": "\"default\"", "deleted": "deleted",
    "created_at": _iso("created_at"), "updated_at": _iso("updated_at"),
}  # fmt: skip
_METRIC_FIELDS = {
    "id": "id", "url": "'{base}/ticket_metrics/' || id || '.json'", "ticket_id": "ticket_id",
    "reopens": "reopens", "replies": "replies", "assignee_stations": "assignee_stations",
    "group_stations": "group_stations", "created_at": _iso("created_at"),
    "updated_at": _iso("updated_at"), "assigned_at": _iso("assigned_at"),
    "initially_assigned_at": _iso("initially_assigned_at"), "solved_at": _iso("solved_at"),
    "status_updated_at": _iso("status_updated_at"),
    "latest_comment_added_at": _iso("latest_comment_added_at"),
    "reply_time_in_minutes": "reply_time_in_minutes",
    "first_resolution_time_in_minutes": "first_resolution_time_in_minutes",
    "full_resolution_time_in_minutes": "full_resolution_time_in_minutes",
}  # fmt: skip
_RATING_FIELDS = {
    "id": "id", "url": "'{base}/satisfaction_ratings/' || id || '.json'",
    "assignee_id": "assignee_id", "group_id": "group_id", "requester_id": "requester_id",
    "ticket_id": "ticket_id", "score": "score", "comment": "comment", "reason": "reason",
    "created_at": _iso("created_at"), "updated_at": _iso("updated_at"),
}  # fmt: skip
_EVENT_FIELDS = {
    "id": "id", "ticket_id": "ticket_id", "timestamp": "\"timestamp\"",
    "created_at": _iso("created_at"), "updater_id": "updater_id", "via": "via",
    "event_type": "event_type", "child_events": "child_events",
}  # fmt: skip


def _select(server: SandboxServer, fields: dict[str, str]) -> str:
    fields = server.state.get("zendesk_fields", {}).get(id(fields), fields)  # drift.py
    base = server.base_url + PREFIX
    parts = []
    for key, expression in fields.items():
        parts.append(f"'{key}', {expression.replace('{base}', base)}")
    return "json_object(" + ", ".join(parts) + ")"


def _rows_as_json(server: SandboxServer, sql: str, params: list[Any]) -> list[dict]:
    return [json.loads(row[0]) for row in server.cursor().execute(sql, params).fetchall()]


class _Items(list):
    """A page's items as JSON texts from DuckDB, spliced into the answer unparsed."""


def _page(payload: dict[str, Any]) -> Response:
    """`Response.json(payload)`, where `_Items` values are JSON texts already: the body
    is built around them instead of parsing each one and encoding it again."""
    parts: list[str] = []
    for key, value in payload.items():
        if isinstance(value, _Items):
            parts.append(f"{json.dumps(key)}:[{','.join(value)}]")
        else:
            parts.append(f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))}")
    return Response(200, ("{" + ",".join(parts) + "}").encode())


def _page_rows(
    server: SandboxServer,
    source: str,
    fields: dict[str, str],
    start: str,
    params: list[Any],
    size: int,
    cutoff: int,
) -> list[tuple[Any, ...]]:
    """(item JSON, ts, id) of up to `size` rows of `source` (a `server.in_change_order`
    table) in export order, from the first row matching `start` (a condition on `__ts`
    and `id`, with `params`) on, stopping before `ts > cutoff`."""
    cursor = server.cursor()
    first = cursor.execute(
        f"SELECT __rn FROM {source} WHERE {start} ORDER BY __rn LIMIT 1", params
    ).fetchone()
    if first is None:
        return []
    return cursor.execute(
        f"""
        SELECT {_select(server, fields)}::VARCHAR, __ts, id FROM {source}
        WHERE __rn >= ? AND __rn < ? AND __ts <= ?
        ORDER BY __rn
        """,
        [first[0], first[0] + size, cutoff],
    ).fetchall()  # fmt: skip


def _encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> list[Any]:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list):
            raise ValueError
        return values
    except ValueError:
        raise _error(400, "InvalidPaginationParameter", "cursor is invalid") from None


# -- cursor-based incremental exports (tickets, users) --------------------------------------

Sideload = Callable[[SandboxServer, list[int]], _Items]
"""The items a sideload adds to a page, given the ids of the page's items in order."""


def _metric_sets(server: SandboxServer, ticket_ids: list[int]) -> _Items:
    """The current metric set of each ticket, in the tickets' order. Metric-set versions
    share `_valid_from` with ticket versions, so a set matches the ticket version served
    beside it."""
    if not ticket_ids:
        return _Items()
    current = server.current("zd_ticket_metrics", "id")
    rows = server.cursor().execute(
        f"""
        SELECT ticket_id, {_select(server, _METRIC_FIELDS)}::VARCHAR FROM {current}
        WHERE ticket_id IN (SELECT unnest(?::BIGINT[]))
        """,
        [ticket_ids],
    ).fetchall()  # fmt: skip
    by_ticket = dict(rows)
    return _Items(by_ticket[ticket_id] for ticket_id in ticket_ids if ticket_id in by_ticket)


def _includes(request: Request) -> list[str]:
    """The names in `include` (comma-separated), in order."""
    raw = request.arg("include") or ""
    return [name.strip() for name in raw.split(",") if name.strip()]


def _cursor_export(
    request: Request,
    resource: str,
    table: str,
    fields: dict[str, str],
    sideloads: Mapping[str, Sideload] | None = None,
) -> Response:
    _authorise(request)
    server = request.server
    per_page = min(_int_arg(request, "per_page", 1000) or 1000, 1000)
    cursor = request.arg("cursor")
    if cursor:
        after_ts, after_id = _decode_cursor(cursor)
    else:
        start_time = _int_arg(request, "start_time")
        if start_time is None:
            raise _error(400, "InvalidValue", "start_time or cursor is required")
        if start_time > server.now:
            raise _error(400, "InvalidValue", "start_time cannot be in the future")
        after_ts, after_id = start_time, -1
    source = server.in_change_order(server.current(table, "id"), "id")
    cutoff = server.now - RECENT_EXCLUSION_SECONDS
    rows = _page_rows(
        server, source, fields, "__ts >= ? AND (__ts, id) > (?, ?)",
        [after_ts, after_ts, after_id], per_page + 1, cutoff,
    )  # fmt: skip
    more = len(rows) > per_page
    rows = rows[:per_page]
    payload: dict[str, Any] = {resource: _Items(row[0] for row in rows)}
    for name in _includes(request):
        if sideloads and name in sideloads and name not in payload:
            payload[name] = sideloads[name](server, [row[2] for row in rows])
    if rows:
        after_ts, after_id = rows[-1][1], rows[-1][2]
    after_cursor = _encode_cursor(after_ts, after_id)
    url = f"{server.base_url}{PREFIX}/incremental/{resource}/cursor.json"
    query: dict[str, Any] = {"cursor": after_cursor, "per_page": per_page}
    if request.arg("include"):
        query["include"] = request.arg("include")
    return _page(
        {
            **payload,
            "after_cursor": after_cursor,
            "after_url": f"{url}?{urlencode(query)}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": not more,
        }
    )


def tickets_cursor(request: Request) -> Response:
    """Tickets; `include=metric_sets` adds their metric sets."""
    return _cursor_export(
        request, "tickets", "zd_tickets", _TICKET_FIELDS, {"metric_sets": _metric_sets}
    )


def users_cursor(request: Request) -> Response:
    return _cursor_export(request, "users", "zd_users", _USER_FIELDS)


# -- time-based incremental exports (organizations, ticket events) ---------------------------


def _time_export(
    request: Request, resource: str, table: str, fields: dict[str, str], versioned: bool
) -> Response:
    _authorise(request)
    server = request.server
    start_time = _int_arg(request, "start_time")
    if start_time is None:
        raise _error(400, "InvalidValue", "start_time is required")
    per_page = min(_int_arg(request, "per_page", 1000) or 1000, 1000)
    source = server.in_change_order(server.current(table, "id") if versioned else table, "id")
    cutoff = server.now - RECENT_EXCLUSION_SECONDS
    rows = _page_rows(server, source, fields, "__ts >= ?", [start_time], per_page, cutoff)
    end_of_stream = len(rows) < per_page
    end_time = rows[-1][1] if rows else start_time
    if not end_of_stream and end_time == start_time:
        # A full page inside one second: serve the rest of that second too and move on,
        # because `start_time=end_time` would return this same page forever.
        rest = (
            server.cursor()
            .execute(
                f"""
                SELECT {_select(server, fields)}::VARCHAR, __ts, id FROM {source}
                WHERE __ts = ? AND __ts <= ? AND id > ?
                ORDER BY __rn
                """,
                [start_time, cutoff, rows[-1][2]],
            )
            .fetchall()
        )
        rows += rest
        end_time += 1
    items = _Items(row[0] for row in rows)
    query: dict[str, Any] = {"start_time": end_time}
    if request.arg("per_page"):
        query["per_page"] = per_page
    if request.arg("include"):
        query["include"] = request.arg("include")
    return _page(
        {
            resource: items,
            "count": len(items),
            "end_time": end_time,
            "end_of_stream": end_of_stream,
            "next_page": f"{server.base_url}{PREFIX}/incremental/{resource}.json?{urlencode(query)}",
        }
    )


def organizations_export(request: Request) -> Response:
    return _time_export(request, "organizations", "zd_organizations", _ORG_FIELDS, True)


def ticket_events_export(request: Request) -> Response:
    return _time_export(request, "ticket_events", "zd_ticket_events", _EVENT_FIELDS, False)


# -- cursor-paginated lists ---------------------------------------------------------------


def _cursor_list(
    request: Request,
    resource: str,
    table: str,
    fields: dict[str, str],
    time_filter: str | None = None,
) -> Response:
    _authorise(request)
    server = request.server
    size = _int_arg(request, "page[size]", 100) or 100
    if size > 100:
        raise _error(400, "InvalidPaginationParameter", "page[size] must be at most 100")
    after = request.arg("page[after]")
    after_id = _decode_cursor(after)[0] if after else -1
    current = server.current(table, "id")
    where, params = ["id > ?"], [after_id]
    if time_filter:
        start_time = _int_arg(request, "start_time")
        end_time = _int_arg(request, "end_time")
        if start_time is not None:
            where.append(f"epoch({time_filter}) >= ?")
            params.append(start_time)
        if end_time is not None:
            where.append(f"epoch({time_filter}) < ?")
            params.append(end_time)
    # The page is cut before its JSON is built: selecting the JSON in the same query as the
    # ORDER BY … LIMIT builds it for every later row, on every page (quadratic in the table).
    sql = f"""
        WITH page AS (
            SELECT * FROM {current}
            WHERE {" AND ".join(where)} ORDER BY id LIMIT ?
        )
        SELECT {_select(server, fields)}::VARCHAR, id FROM page ORDER BY id
    """
    rows = server.cursor().execute(sql, [*params, size + 1]).fetchall()
    has_more = len(rows) > size
    rows = rows[:size]
    after_cursor = _encode_cursor(rows[-1][1]) if rows else None
    base = f"{server.base_url}{PREFIX}/{resource}.json"
    next_query = {k: v[0] for k, v in request.query.items() if k != "page[after]"}
    next_link = None
    if has_more and after_cursor:
        next_link = f"{base}?{urlencode({**next_query, 'page[after]': after_cursor})}"
    return _page(
        {
            resource: _Items(row[0] for row in rows),
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
            "links": {"next": next_link, "prev": None},
        }
    )


def groups(request: Request) -> Response:
    return _cursor_list(request, "groups", "zd_groups", _GROUP_FIELDS)


def organizations(request: Request) -> Response:
    return _cursor_list(request, "organizations", "zd_organizations", _ORG_FIELDS)


def ticket_metrics(request: Request) -> Response:
    return _cursor_list(request, "ticket_metrics", "zd_ticket_metrics", _METRIC_FIELDS)


def satisfaction_ratings(request: Request) -> Response:
    """`start_time`/`end_time` filter on `updated_at`, so a rating answered after it was
    offered is exported again."""
    return _cursor_list(
        request, "satisfaction_ratings", "zd_satisfaction_ratings", _RATING_FIELDS, "updated_at"
    )


def register(server: SandboxServer) -> None:
    routes = [
        (r"/incremental/tickets/cursor\.json", tickets_cursor),
        (r"/incremental/users/cursor\.json", users_cursor),
        (r"/incremental/organizations\.json", organizations_export),
        (r"/incremental/ticket_events\.json", ticket_events_export),
        (r"/groups\.json", groups),
        (r"/organizations\.json", organizations),
        (r"/ticket_metrics\.json", ticket_metrics),
        (r"/satisfaction_ratings\.json", satisfaction_ratings),
    ]
    for pattern, handler in routes:
        server.route("GET", PREFIX + pattern, handler, "zendesk")
