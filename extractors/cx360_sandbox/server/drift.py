"""`/_sandbox/drift`: change what the APIs serve between runs (schema-drift drill).

    POST /_sandbox/drift {
      "salesforce": {"Account": {"add": {"Health_Score__c": "DOUBLE"},
                                 "drop": ["Website"],
                                 "widen": {"NumberOfEmployees": "DOUBLE"}}},
      "zendesk": {"tickets": {"add": {"sla_policy": "'standard'"},
                              "drop": ["external_id"],
                              "widen": {"group_id": "VARCHAR"}}}
    }
    GET  /_sandbox/drift   every change applied so far

Salesforce fields come from the table itself (SOQL and describe read its columns), so drift
is DDL on the sandbox's copy of the object's table: ``add`` creates a column of that DuckDB
type filled with a deterministic value per row, ``drop`` removes one, ``widen`` changes its
type (describe then reports e.g. ``double`` instead of ``int``). Zendesk answers from fixed
field maps (``zendesk._TICKET_FIELDS`` …): ``add`` takes a SQL expression over the
resource's table, ``drop`` removes a key from every answer, ``widen`` casts a field to the
given DuckDB type (``VARCHAR``: the JSON carries ``"123"`` instead of ``123``).

Changes accumulate and last for the server's life; the clock and every other control are
unaffected (the cached current-version tables are rebuilt).
"""

from __future__ import annotations

from typing import Any

from . import salesforce, zendesk
from .core import ApiError, Request, Response, SandboxServer

ZENDESK_RESOURCES: dict[str, dict[str, str]] = {
    "tickets": zendesk._TICKET_FIELDS,
    "users": zendesk._USER_FIELDS,
    "organizations": zendesk._ORG_FIELDS,
    "groups": zendesk._GROUP_FIELDS,
    "ticket_metrics": zendesk._METRIC_FIELDS,
    "satisfaction_ratings": zendesk._RATING_FIELDS,
    "ticket_events": zendesk._EVENT_FIELDS,
}
ZENDESK_OVERRIDES = "zendesk_fields"
"""server.state key: id(base field map) → drifted field map (read by zendesk._select)."""
_SALESFORCE_REQUIRED = {"Id", "SystemModstamp", "IsDeleted"}
_FILL = {
    "DOUBLE": 'round((hash("Id") % 10000) / 100.0, 2)',
    "BIGINT": '(hash("Id") % 1000)::BIGINT',
    "BOOLEAN": 'hash("Id") % 2 = 0',
    "VARCHAR": "'drift-' || (hash(\"Id\") % 7)::VARCHAR",
    "DATE": "DATE '2026-01-01' + (hash(\"Id\") % 300)::INTEGER",
}


def _bad(message: str) -> ApiError:
    return ApiError(Response.json({"error": message}, 400))


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise _bad(f"field names are letters, digits and underscores, got {name!r}")
    return f'"{name}"'


def _salesforce(server: SandboxServer, sobject: str, change: dict[str, Any]) -> list[str]:
    if sobject not in salesforce.OBJECTS:
        raise _bad(f"unknown Salesforce object {sobject!r}; choose from {list(salesforce.OBJECTS)}")
    table = salesforce.OBJECTS[sobject][0]
    applied, statements = [], []
    for field, kind in (change.get("add") or {}).items():
        kind = str(kind).upper()
        if kind not in _FILL:
            raise _bad(f"add: type {kind!r} not one of {sorted(_FILL)}")
        statements += [
            f"ALTER TABLE {table} ADD COLUMN {_quote(field)} {kind}",
            f"UPDATE {table} SET {_quote(field)} = {_FILL[kind]}",
        ]
        applied.append(f"salesforce.{sobject}: added {field} {kind}")
    for field in change.get("drop") or []:
        if field in _SALESFORCE_REQUIRED:
            raise _bad(f"drop: {field} is needed for incremental sync")
        statements.append(f"ALTER TABLE {table} DROP COLUMN {_quote(field)}")
        applied.append(f"salesforce.{sobject}: dropped {field}")
    for field, kind in (change.get("widen") or {}).items():
        statements.append(f"ALTER TABLE {table} ALTER COLUMN {_quote(field)} TYPE {kind}")
        applied.append(f"salesforce.{sobject}: widened {field} to {kind}")
    cursor = server.world.cursor()
    try:
        cursor.execute("BEGIN")
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("COMMIT")
    except Exception as error:
        cursor.execute("ROLLBACK")
        raise _bad(f"salesforce.{sobject}: {error}") from None
    finally:
        cursor.close()
    return applied


def _zendesk(server: SandboxServer, resource: str, change: dict[str, Any]) -> list[str]:
    if resource not in ZENDESK_RESOURCES:
        raise _bad(f"unknown Zendesk resource {resource!r}; choose from {list(ZENDESK_RESOURCES)}")
    base = ZENDESK_RESOURCES[resource]
    overrides = server.state.setdefault(ZENDESK_OVERRIDES, {})
    fields = dict(overrides.get(id(base), base))
    applied = []
    for field, expression in (change.get("add") or {}).items():
        fields[field] = str(expression)
        applied.append(f"zendesk.{resource}: added {field} = {expression}")
    for field in change.get("drop") or []:
        if field == "id" or field not in fields:
            raise _bad(f"drop: {resource} has no droppable field {field!r}")
        del fields[field]
        applied.append(f"zendesk.{resource}: dropped {field}")
    for field, kind in (change.get("widen") or {}).items():
        if field not in fields:
            raise _bad(f"widen: {resource} has no field {field!r}")
        fields[field] = f"CAST(({fields[field]}) AS {kind})"
        applied.append(f"zendesk.{resource}: widened {field} to {kind}")
    probe = zendesk._select(server, fields)  # a bad expression fails here, not in a tap
    try:
        server.cursor().execute(f"SELECT {probe} FROM zd_{resource} LIMIT 0")
    except Exception as error:
        raise _bad(f"zendesk.{resource}: {error}") from None
    overrides[id(base)] = fields
    return applied


def configure(request: Request) -> Response:
    server = request.server
    try:
        payload = request.json()
    except ValueError as error:
        raise _bad(f"body is not JSON: {error}") from None
    if unknown := sorted(set(payload) - {"salesforce", "zendesk"}):
        raise _bad(f"drift applies to salesforce and zendesk, not {unknown}")
    applied: list[str] = []
    with server.lock:
        for sobject, change in (payload.get("salesforce") or {}).items():
            applied += _salesforce(server, sobject, change)
        for resource, change in (payload.get("zendesk") or {}).items():
            applied += _zendesk(server, resource, change)
        server.state.setdefault("drift", []).extend(applied)
        server.set_now(server.now)  # rebuild the cached current-version tables
    return Response.json({"applied": applied, "drift": server.state["drift"]})


def report(request: Request) -> Response:
    return Response.json({"drift": request.server.state.get("drift", [])})


def register(server: SandboxServer) -> None:
    server.route("POST", r"/_sandbox/drift", configure, "control")
    server.route("GET", r"/_sandbox/drift", report, "control")
