"""`/_sandbox/corruption`: serve a seeded fraction of records malformed (bad-records drill).

    POST   /_sandbox/corruption {"rate": 0.01, "seed": 7, "endpoints": [...], "kinds": [...]}
    GET    /_sandbox/corruption   settings, every malformed record served, counts per kind
    DELETE /_sandbox/corruption   serve clean records again (and forget the log)

`endpoints` defaults to every name in :data:`ENDPOINTS`, `kinds` to every kind in
:data:`KINDS`. A record is malformed when a hash of (seed, endpoint, stream, key) falls under
`rate`, and the kind is picked by the same hash among those its endpoint can show: so the
same record is malformed the same way every time it is served (retries, page re-reads,
reruns), whatever the paging or the order of requests.

Kinds (each the kind of damage real APIs do send now and then):

* ``wrong_type`` — a number or boolean field arrives as text (``"n/a"``);
* ``missing_key`` — the record's primary key is missing;
* ``out_of_range`` — a score or count outside its documented range (NPS 11, -3 replies);
* ``invalid_date`` — a date that does not exist (``2026-02-30``, ``…T25:61:00Z``);
* ``oversized_text`` — a free-text field of 70,000 characters.

Bookmark fields (``SystemModstamp``, ``generated_timestamp``, ``updated_at`` where it is the
replication key) are never touched: a source that corrupts those breaks incremental sync
itself, which is not what this drill is about.

The wrapping happens here, at the routes: the API modules know nothing about it. One route
can serve the records of several endpoints: the ticket export carries tickets and, with
``include=metric_sets``, metric sets, which belong to ``zendesk.ticket_metrics`` as do those
of ``/ticket_metrics.json``; each endpoint damages only its own records, so either can be
switched on alone, and a metric set is damaged the same way on both routes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import delighted, salesforce, zendesk
from .core import ApiError, Handler, Request, Response, SandboxServer

KINDS = ("wrong_type", "missing_key", "out_of_range", "invalid_date", "oversized_text")
OVERSIZED_CHARACTERS = 70_000
BAD_DATE = "2026-02-30"
BAD_INSTANT = "2026-02-30T25:61:00Z"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T")
_SALESFORCE_STREAMS = {
    "Account": "accounts",
    "Contact": "contacts",
    "Opportunity": "opportunities",
    "User": "users",
    "OpportunityContactRole": "opportunity_contact_roles",
}
_SALESFORCE_UNTOUCHED = {"Id", "SystemModstamp", "IsDeleted", "attributes"}

Damage = Callable[[dict[str, Any], int], str | None]
"""Damage a record in place (the int is a per-record random number); return the field
damaged, or None when the record has no field this kind applies to."""


def _bad(message: str) -> ApiError:
    return ApiError(Response.json({"error": message}, 400))


def _set(field: str, value: Any) -> Damage:
    def damage(record: dict[str, Any], _: int) -> str | None:
        if field not in record:
            return None
        record[field] = value
        return field

    return damage


def _drop(field: str) -> Damage:
    def damage(record: dict[str, Any], _: int) -> str | None:
        if field not in record:
            return None
        del record[field]
        return field

    return damage


def _oversize(field: str) -> Damage:
    def damage(record: dict[str, Any], _: int) -> str | None:
        if field not in record:
            return None
        text = str(record.get(field) or "lorem ipsum") + " "
        record[field] = (text * (OVERSIZED_CHARACTERS // len(text) + 1))[:OVERSIZED_CHARACTERS]
        return field

    return damage


def _out_of_range(field: str, values: tuple[int, ...]) -> Damage:
    def damage(record: dict[str, Any], roll: int) -> str | None:
        if field not in record:
            return None
        record[field] = values[roll % len(values)]
        return field

    return damage


def _salesforce_wrong_type(record: dict[str, Any], _: int) -> str | None:
    """The first number field becomes text.

    Not booleans: singer-sdk's type conformance turns any non-null value of a boolean-only
    property into ``value != 0``, so ``"n/a"`` would load as true, unseen by the loader.
    """
    for name, value in record.items():
        if name in _SALESFORCE_UNTOUCHED or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            record[name] = "n/a"
            return name
    return None


def _salesforce_invalid_date(record: dict[str, Any], _: int) -> str | None:
    """The first date field becomes 30 February, else the first instant gets hour 25."""
    fields = [(k, v) for k, v in record.items() if k not in _SALESFORCE_UNTOUCHED]
    for name, value in fields:
        if isinstance(value, str) and _DATE.match(value):
            record[name] = BAD_DATE
            return name
    for name, value in fields:
        if isinstance(value, str) and _INSTANT.match(value):
            record[name] = BAD_INSTANT
            return name
    return None


@dataclass(frozen=True)
class Endpoint:
    api: str
    handlers: tuple[Handler, ...]
    records: Callable[[Any], list[dict[str, Any]]]
    """The records in a decoded response body."""
    key: str
    stream: Callable[[dict[str, Any]], str]
    damages: dict[str, Damage]


ENDPOINTS: dict[str, Endpoint] = {
    "salesforce.query": Endpoint(
        api="salesforce",
        handlers=(salesforce.query, salesforce.query_all, salesforce.query_more),
        records=lambda body: body.get("records") or [],
        key="Id",
        stream=lambda record: _SALESFORCE_STREAMS[record["attributes"]["type"]],
        damages={
            "wrong_type": _salesforce_wrong_type,
            "missing_key": _drop("Id"),
            "invalid_date": _salesforce_invalid_date,
        },
    ),
    "zendesk.tickets": Endpoint(
        api="zendesk",
        handlers=(zendesk.tickets_cursor,),
        records=lambda body: body.get("tickets") or [],
        key="id",
        stream=lambda _: "tickets",
        damages={
            "wrong_type": _set("requester_id", "n/a"),
            "missing_key": _drop("id"),
            "invalid_date": _set("created_at", BAD_INSTANT),
            "oversized_text": _oversize("description"),
        },
    ),
    "zendesk.ticket_metrics": Endpoint(
        api="zendesk",
        handlers=(zendesk.ticket_metrics, zendesk.tickets_cursor),
        records=lambda body: [
            *(body.get("ticket_metrics") or []),
            *(body.get("metric_sets") or []),
        ],
        key="id",
        stream=lambda _: "ticket_metrics",
        damages={
            "wrong_type": _set("reopens", "n/a"),
            "out_of_range": _out_of_range("replies", (-3, -1)),
            "invalid_date": _set("solved_at", BAD_INSTANT),
        },
    ),
    "delighted.survey_responses": Endpoint(
        api="delighted",
        handlers=(delighted.survey_responses,),
        records=lambda body: body if isinstance(body, list) else [],
        key="id",
        stream=lambda _: "survey_responses",
        damages={
            "wrong_type": _set("score", "n/a"),
            "out_of_range": _out_of_range("score", (11, -1, 12)),
            "oversized_text": _oversize("comment"),
        },
    ),
}


def _roll(seed: int, *parts: object) -> int:
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _damage(server: SandboxServer, name: str, endpoint: Endpoint, record: dict) -> bool:
    config = server.state["corruption"]
    stream, key = endpoint.stream(record), record.get(endpoint.key)
    identity = (name, stream, key)
    roll = _roll(config["seed"], *identity)
    with server.lock:
        config["seen"].add(identity)
    if roll / 2**64 >= config["rate"]:
        return False
    kinds = [k for k in config["kinds"] if k in endpoint.damages]
    second = _roll(config["seed"], "kind", *identity)
    for offset in range(len(kinds)):  # the picked kind, else the next one that applies
        kind = kinds[(second + offset) % len(kinds)]
        field = endpoint.damages[kind](record, second)
        if field is not None:
            entry = {"endpoint": name, "api": endpoint.api, "stream": stream, "key": key,
                     "kind": kind, "field": field}  # fmt: skip
            with server.lock:
                served = config["served"].setdefault(identity, {**entry, "times": 0})
                served["times"] += 1
            return True
    return False


def _wrap(names: list[str], handler: Handler) -> Handler:
    """`handler`, its answers damaged as each endpoint in `names` (all served by it) says."""
    endpoints = [(name, ENDPOINTS[name]) for name in names]

    def corrupting(request: Request) -> Response:
        response = handler(request)
        if response.status != 200 or response.content_type != "application/json":
            return response
        body = json.loads(response.body)
        changed = False
        for name, endpoint in endpoints:
            for record in endpoint.records(body):
                changed = _damage(request.server, name, endpoint, record) or changed
        if not changed:
            return response
        return Response.json(body, response.status, response.headers)

    corrupting.__cx_original__ = handler  # type: ignore[attr-defined]
    return corrupting


def _install(server: SandboxServer, names: list[str]) -> None:
    by_handler: dict[Handler, list[str]] = {}
    for name in names:
        for handler in ENDPOINTS[name].handlers:
            by_handler.setdefault(handler, []).append(name)
    for index, (method, pattern, handler, api) in enumerate(server.routes):
        handler = getattr(handler, "__cx_original__", handler)
        if handler in by_handler:
            handler = _wrap(by_handler[handler], handler)
        server.routes[index] = (method, pattern, handler, api)


def _report(server: SandboxServer) -> dict[str, Any]:
    config = server.state.get("corruption")
    if not config:
        return {"enabled": False, "records": [], "counts": {}, "seen": 0}
    with server.lock:
        served = [dict(entry) for entry in config["served"].values()]
        seen = len(config["seen"])
    counts: dict[str, int] = {}
    for entry in served:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    settings = {k: config[k] for k in ("rate", "seed", "endpoints", "kinds")}
    return {"enabled": True, **settings, "seen": seen, "records": served, "counts": counts}


def configure(request: Request) -> Response:
    server = request.server
    try:
        payload = request.json()
    except ValueError as error:
        raise _bad(f"body is not JSON: {error}") from None
    unknown = set(payload) - {"rate", "seed", "endpoints", "kinds"}
    if unknown:
        raise _bad(f"unknown settings {sorted(unknown)}; allowed: rate, seed, endpoints, kinds")
    rate = float(payload.get("rate", 0.01))
    if not 0 <= rate <= 1:
        raise _bad("rate must be between 0 and 1")
    endpoints = list(payload.get("endpoints") or ENDPOINTS)
    kinds = list(payload.get("kinds") or KINDS)
    if bad := sorted(set(endpoints) - set(ENDPOINTS)):
        raise _bad(f"unknown endpoints {bad}; choose from {sorted(ENDPOINTS)}")
    if bad := sorted(set(kinds) - set(KINDS)):
        raise _bad(f"unknown kinds {bad}; choose from {list(KINDS)}")
    with server.lock:
        server.state["corruption"] = {
            "rate": rate, "seed": int(payload.get("seed", 0)), "endpoints": endpoints,
            "kinds": kinds, "served": {}, "seen": set(),
        }  # fmt: skip
        _install(server, endpoints if rate > 0 else [])
    return Response.json(_report(server))


def report(request: Request) -> Response:
    return Response.json(_report(request.server))


def disable(request: Request) -> Response:
    with request.server.lock:
        request.server.state.pop("corruption", None)
        _install(request.server, [])
    return Response.json({"enabled": False})


def register(server: SandboxServer) -> None:
    server.route("POST", r"/_sandbox/corruption", configure, "control")
    server.route("GET", r"/_sandbox/corruption", report, "control")
    server.route("DELETE", r"/_sandbox/corruption", disable, "control")
