"""Delighted API v1 imitation: survey_responses (JSON array, page/per_page, since/until,
updated_since/updated_until, order) and people (cursor in a `Link: rel="next"` header).
Auth is HTTP Basic with the API key as user name and an empty password; times are unix ints.

A page costs the same wherever it is in the table. Asked of the current-version table as
is, every page was a scan, a sort of every matching row and the JSON of all of them, for
each of thousands of pages (80 ms a page at `medium`, minutes per sync). Instead, each
order an endpoint serves gets, once per clock position, a copy of the current rows in that
order (`_Ordered`: a DuckDB table numbered `__rn`, plus the sort keys in a Python list)
and the JSON of every row in that order, rendered by DuckDB in one pass (`_Ordered.items`,
one list per shape: survey responses with or without `expand[]=person`). A bound on the
sort key is then a `bisect` into the keys, a page the slice of items after it, and the
answer those items joined: no query at all. Bounds on another column (`since` with
`order=asc:updated_at`, `since` on people) pick the page's `__rn`s with a query over the
copy and answer the same items.
"""

from __future__ import annotations

import base64
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .core import PER_CLOCK_PREFIX, ApiError, Request, Response, SandboxServer

PREFIX = "/delighted/v1"
_CACHE = PER_CLOCK_PREFIX + "delighted_ordered"
"""`server.state` key of the ordered copies: {"now": clock, "copies": {name: _Ordered}}.
They are dropped when the clock moves (the Delighted tables change with nothing else)."""


def _error(status: int, message: str) -> ApiError:
    return ApiError(Response.json({"status": status, "message": message}, status))


def _authorise(request: Request) -> None:
    key = request.server.state["credentials"]["DELIGHTED_API_KEY"]
    header = request.headers.get("authorization", "")
    try:
        supplied = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ""
    except ValueError:
        supplied = ""
    if supplied != f"{key}:":
        raise _error(401, "Unauthorized: invalid API key")


def _int(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            Response.json(
                {"status": 422, "message": "Validation failed", "errors": {name: ["is invalid"]}},
                422,
            )
        ) from None


def _per_page(request: Request) -> int:
    """`per_page`: 20 by default, at most 100."""
    return max(1, min(_int(request, "per_page", 20) or 20, 100))


def _json_array(items: list[str], headers: dict[str, str] | None = None) -> Response:
    """A JSON array answer from items already rendered as JSON text."""
    return Response(200, ("[" + ",".join(items) + "]").encode(), dict(headers or {}))


# -- ordered copies of the current rows ------------------------------------------------------


@dataclass
class _Ordered:
    """Current rows in one order. `table` holds `__rn` (a row's 0-based place in the
    order) and the columns filters read; `keys[__rn]` is the sort key while it is not
    NULL (NULLs sort last, so the `len(keys)` keyed rows come first); `items[shape]`
    the rows' JSON texts in order, rendered on first use."""

    table: str
    keys: list[Any]
    rows: int
    items: dict[str, list[str]] = field(default_factory=dict)


def _ordered(server: SandboxServer, name: str, build: str, key: str) -> _Ordered:
    """The copy called `name`: `build` (a SELECT yielding `__rn` and `key`) stored in
    `__rn` order; cached until the clock moves."""
    with server.lock:
        cache = server.state.get(_CACHE)
        if cache is None or cache["now"] != server.now:
            for stale in (cache or {}).get("copies", {}).values():
                server.world.execute(f"DROP TABLE IF EXISTS {stale.table}")
            cache = server.state[_CACHE] = {"now": server.now, "copies": {}}
        ordered = cache["copies"].get(name)
        if ordered is None:
            table = f"dl_ord_{name}"
            server.world.execute(f"CREATE OR REPLACE TABLE {table} AS {build} ORDER BY __rn")
            keys = [
                value
                for (value,) in server.world.execute(
                    f"SELECT {key} FROM {table} WHERE {key} IS NOT NULL ORDER BY __rn"
                ).fetchall()
            ]
            [(rows,)] = server.world.execute(f"SELECT count(*) FROM {table}").fetchall()
            ordered = cache["copies"][name] = _Ordered(table, keys, rows)
        return ordered


def _items(server: SandboxServer, ordered: _Ordered, shape: str, render: str) -> list[str]:
    """Every row's JSON in order: `render` is a SELECT of (`__rn`, JSON text) over
    `ordered.table` (as `o`) and whatever it joins."""
    items = ordered.items.get(shape)
    if items is None:
        with server.lock:
            items = ordered.items.get(shape)
            if items is None:
                rows = server.world.execute(f"{render} ORDER BY o.__rn").fetchall()
                items = ordered.items[shape] = [text for _, text in rows]
    return items


def _key_range(ordered: _Ordered, since: int | None, until: int | None) -> tuple[int, int] | None:
    """The `__rn` range [lo, hi) of rows whose key is within [since, until] (both optional);
    None when neither is given and some keys are NULL (such rows follow no key order)."""
    if since is None and until is None:
        return (0, ordered.rows) if len(ordered.keys) == ordered.rows else None
    lo = 0 if since is None else bisect_left(ordered.keys, since)
    hi = len(ordered.keys) if until is None else bisect_right(ordered.keys, until)
    return lo, max(lo, hi)


# -- survey responses -------------------------------------------------------------------------

_PERSON_JSON = """json_object(
    'id', {p}id, 'name', {p}name, 'email', {p}email, 'phone_number', {p}phone_number,
    'created_at', epoch({p}created_at)::BIGINT,
    'last_sent_at', epoch({p}last_sent_at)::BIGINT,
    'last_responded_at', epoch({p}last_responded_at)::BIGINT,
    'next_survey_scheduled_at', NULL
)"""
_RESPONSE_JSON = """json_object(
    'id', r.id, 'person', {person}, 'survey_type', r.survey_type, 'score', r.score,
    'comment', r.comment, 'permalink', r.permalink,
    'created_at', epoch(r.created_at)::BIGINT, 'updated_at', epoch(r.updated_at)::BIGINT,
    'person_properties', r.person_properties, 'notes', r.notes, 'tags', r.tags,
    'additional_answers', '[]'::JSON
)::VARCHAR"""
_SHAPES = {
    # shape → the `person` of a response: its id, or (expanded) the current person,
    # falling back to the id when there is none
    "plain": "r.person_id",
    "expanded": f"CASE WHEN p.id IS NULL THEN to_json(r.person_id) "
    f"ELSE {_PERSON_JSON.format(p='p.')} END",
}
_ORDERS = {
    # order → (sort column, descending)
    "asc": ("created_at", False),
    "desc": ("created_at", True),
    "asc:updated_at": ("updated_at", False),
    "desc:updated_at": ("updated_at", True),
}
_TIME_FILTERS = (
    ("since", "created_at", ">="),
    ("until", "created_at", "<="),
    ("updated_since", "updated_at", ">="),
    ("updated_until", "updated_at", "<="),
)


def _responses(server: SandboxServer, column: str, shape: str) -> tuple[_Ordered, list[str]]:
    """Current responses in `column, id` order, and their JSON in `shape`."""
    responses = server.current("dl_survey_responses", "id")
    ordered = _ordered(
        server,
        f"responses_by_{column}",
        f"""
        SELECT row_number() OVER (ORDER BY {column} ASC NULLS LAST, id ASC) - 1 AS __rn,
               epoch({column}) AS __key, id, created_at, updated_at
        FROM {responses}
        """,
        "__key",
    )  # fmt: skip
    render = f"SELECT o.__rn, {_RESPONSE_JSON.format(person=_SHAPES[shape])} FROM {ordered.table} o"
    render += f" JOIN {responses} r USING (id)"
    if shape == "expanded":
        render += f" LEFT JOIN {server.current('dl_people', 'id')} p ON p.id = r.person_id"
    return ordered, _items(server, ordered, shape, render)


def survey_responses(request: Request) -> Response:
    _authorise(request)
    server = request.server
    per_page = _per_page(request)
    page = max(1, _int(request, "page", 1) or 1)
    bounds = {arg: _int(request, arg) for arg, _, _ in _TIME_FILTERS}
    order = request.arg("order", "asc") or "asc"
    if order not in _ORDERS:
        raise _error(
            422, f"order must be asc, desc, asc:updated_at or desc:updated_at, got {order!r}"
        )
    column, descending = _ORDERS[order]
    shape = "expanded" if "person" in request.query.get("expand[]", []) else "plain"
    ordered, items = _responses(server, column, shape)
    # Bounds on the sort column are a `__rn` range; bounds on the other one are filters.
    key_args = ("since", "until") if column == "created_at" else ("updated_since", "updated_until")
    span = _key_range(ordered, bounds[key_args[0]], bounds[key_args[1]])
    where: list[str] = []
    params: list[Any] = []
    for arg, filter_column, op in _TIME_FILTERS:
        if arg not in key_args and bounds[arg] is not None:
            where.append(f"epoch({filter_column}) {op} ?")
            params.append(bounds[arg])
    skip = (page - 1) * per_page
    if span is not None and not where:
        lo, hi = span
        if descending:
            first, last = max(lo, hi - skip - per_page), hi - skip
            return _json_array(items[first:last][::-1] if first < last else [])
        return _json_array(items[lo + skip : min(hi, lo + skip + per_page)])
    # Otherwise pick the page's rows with a query, in the API's order.
    if span is not None:
        where += ["__rn >= ?", "__rn < ?"]
        params += list(span)
    direction = "DESC" if descending else "ASC"
    picked = server.cursor().execute(
        f"""
        SELECT __rn FROM {ordered.table}
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?
        """,
        [*params, per_page, skip],
    ).fetchall()  # fmt: skip
    return _json_array([items[rn] for (rn,) in picked])


# -- people ----------------------------------------------------------------------------------


def people(request: Request) -> Response:
    _authorise(request)
    server = request.server
    per_page = _per_page(request)
    since = _int(request, "since")
    after_id = request.arg("page_info")
    current = server.current("dl_people", "id")
    ordered = _ordered(
        server,
        "people_by_id",
        f"SELECT row_number() OVER (ORDER BY id) - 1 AS __rn, id, created_at FROM {current}",
        "id",
    )
    render = f"SELECT o.__rn, {_PERSON_JSON.format(p='p.')}::VARCHAR FROM {ordered.table} o"
    items = _items(server, ordered, "person", f"{render} JOIN {current} p USING (id)")
    # Ids are never NULL, and DuckDB orders VARCHAR as Python orders str (by code point).
    lo = bisect_right(ordered.keys, after_id) if after_id else 0
    if since is None:
        picked = list(range(lo, min(lo + per_page + 1, ordered.rows)))
    else:
        picked = [
            rn
            for (rn,) in server.cursor()
            .execute(
                f"SELECT __rn FROM {ordered.table} WHERE __rn >= ? AND epoch(created_at) >= ?"
                " ORDER BY __rn LIMIT ?",
                [lo, since, per_page + 1],
            )
            .fetchall()
        ]
    headers = {}
    if len(picked) > per_page:
        picked = picked[:per_page]
        query = {"per_page": per_page, "page_info": ordered.keys[picked[-1]]}
        if since is not None:
            query["since"] = since
        headers["Link"] = f'<{server.base_url}{PREFIX}/people.json?{urlencode(query)}>; rel="next"'
    return _json_array([items[rn] for rn in picked], headers)


def register(server: SandboxServer) -> None:
    server.route("GET", PREFIX + r"/survey_responses\.json", survey_responses, "delighted")
    server.route("GET", PREFIX + r"/people\.json", people, "delighted")
