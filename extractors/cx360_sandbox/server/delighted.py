"""Delighted API v1 imitation: survey_responses (JSON array, page/per_page, since/until,
updated_since/updated_until, order) and people (cursor in a `Link: rel="next"` header).
Auth is HTTP Basic with the API key as user name and an empty password; times are unix ints.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from .core import ApiError, Request, Response, SandboxServer

PREFIX = "/delighted/v1"


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


_RESPONSE_JSON = """json_object(
    'id', id, 'person', person_id, 'survey_type', survey_type, 'score', score,
    'comment', comment, 'permalink', permalink,
    'created_at', epoch(created_at)::BIGINT, 'updated_at', epoch(updated_at)::BIGINT,
    'person_properties', person_properties, 'notes', notes, 'tags', tags,
    'additional_answers', '[]'::JSON
)"""
_PERSON_JSON = """json_object(
    'id', id, 'name', name, 'email', email, 'phone_number', phone_number,
    'created_at', epoch(created_at)::BIGINT,
    'last_sent_at', epoch(last_sent_at)::BIGINT,
    'last_responded_at', epoch(last_responded_at)::BIGINT,
    'next_survey_scheduled_at', NULL
)"""


def survey_responses(request: Request) -> Response:
    _authorise(request)
    server = request.server
    per_page = _int(request, "per_page", 20) or 20
    if per_page > 100:
        per_page = 100
    page = max(1, _int(request, "page", 1) or 1)
    where: list[str] = []
    params: list[Any] = []
    for arg, column, op in (
        ("since", "created_at", ">="),
        ("until", "created_at", "<="),
        ("updated_since", "updated_at", ">="),
        ("updated_until", "updated_at", "<="),
    ):
        value = _int(request, arg)
        if value is not None:
            where.append(f"epoch({column}) {op} ?")
            params.append(value)
    order = request.arg("order", "asc")
    order_sql = {
        "asc": "created_at ASC, id ASC",
        "desc": "created_at DESC, id DESC",
        "asc:updated_at": "updated_at ASC, id ASC",
        "desc:updated_at": "updated_at DESC, id DESC",
    }.get(order or "asc")
    if order_sql is None:
        raise _error(
            422, f"order must be asc, desc, asc:updated_at or desc:updated_at, got {order!r}"
        )
    current = server.current("dl_survey_responses", "id")
    expand_person = "person" in request.query.get("expand[]", [])
    sql = f"SELECT {_RESPONSE_JSON}, person_id FROM {current}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order_sql} LIMIT ? OFFSET ?"
    rows = server.cursor().execute(sql, [*params, per_page, (page - 1) * per_page]).fetchall()
    items = [json.loads(row[0]) for row in rows]
    if expand_person and items:
        people_table = server.current("dl_people", "id")
        ids = sorted({row[1] for row in rows})
        placeholders = ", ".join("?" for _ in ids)
        people = {
            row[0]: json.loads(row[1])
            for row in server.cursor()
            .execute(
                f"SELECT id, {_PERSON_JSON} FROM {people_table} WHERE id IN ({placeholders})", ids
            )
            .fetchall()
        }
        for item in items:
            item["person"] = people.get(item["person"], item["person"])
    return Response.json(items)


def people(request: Request) -> Response:
    _authorise(request)
    server = request.server
    per_page = min(_int(request, "per_page", 20) or 20, 100)
    since = _int(request, "since")
    after_id = request.arg("page_info")
    current = server.current("dl_people", "id")
    where, params = [], []
    if since is not None:
        where.append("epoch(created_at) >= ?")
        params.append(since)
    if after_id:
        where.append("id > ?")
        params.append(after_id)
    sql = f"SELECT {_PERSON_JSON}, id FROM {current}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id LIMIT ?"
    rows = server.cursor().execute(sql, [*params, per_page + 1]).fetchall()
    headers = {}
    if len(rows) > per_page:
        rows = rows[:per_page]
        query = {"per_page": per_page, "page_info": rows[-1][1]}
        if since is not None:
            query["since"] = since
        headers["Link"] = f'<{server.base_url}{PREFIX}/people.json?{urlencode(query)}>; rel="next"'
    return Response.json([json.loads(row[0]) for row in rows], headers=headers)


def register(server: SandboxServer) -> None:
    server.route("GET", PREFIX + r"/survey_responses\.json", survey_responses, "delighted")
    server.route("GET", PREFIX + r"/people\.json", people, "delighted")
