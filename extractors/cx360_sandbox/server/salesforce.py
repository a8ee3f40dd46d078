"""Salesforce REST API imitation: OAuth2 token, SOQL query/queryAll with locators, describe.

Shapes follow the REST API developer guide: records carry `attributes`, datetimes look like
`2024-01-01T12:34:56.000+0000`, errors are JSON arrays of `{message, errorCode}`, the token
response has no `expires_in` and names the `instance_url` to call.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from .core import ApiError, Request, Response, SandboxServer

API_VERSION = "v61.0"
PREFIX = "/salesforce"
"""The login host: OAuth token endpoint only."""
INSTANCE_PREFIX = "/salesforce-na1"
"""The org's instance, named by the token response's `instance_url`; the data API lives here,
so a client that sends data calls to the login URL fails as it would against Salesforce."""
MAX_OPEN_LOCATORS = 10  # Salesforce keeps ten query cursors per user, releasing the oldest
DAY = 86_400
HARD_DELETE_AFTER = 15 * DAY
DEFAULT_BATCH = 2000
LOCATOR_TTL_SECONDS = 15 * 60

# Salesforce object → (sandbox table, soft-deletable)
OBJECTS = {
    "Account": ("sf_accounts", True),
    "Contact": ("sf_contacts", True),
    "Opportunity": ("sf_opportunities", True),
    "User": ("sf_users", False),
    "OpportunityContactRole": ("sf_opportunity_contact_roles", True),
}
CURRENCY_FIELDS = {"AnnualRevenue", "Amount", "MRR__c", "Monthly_Spend__c"}
_DUCK_TO_SF = {
    "VARCHAR": "string",
    "BIGINT": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "datetime",
    "DATE": "date",
}


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(Response.json([{"message": message, "errorCode": code}], status))


# -- OAuth -------------------------------------------------------------------------------


def token(request: Request) -> Response:
    server = request.server
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    creds = server.state["credentials"]
    if form.get("grant_type") != "refresh_token":
        return Response.json(
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
            400,
        )
    if (
        form.get("client_id") != creds["SALESFORCE_CLIENT_ID"]
        or form.get("client_secret") != creds["SALESFORCE_CLIENT_SECRET"]
    ):
        return Response.json(
            {"error": "invalid_client", "error_description": "invalid client credentials"}, 400
        )
    if form.get("refresh_token") != creds["SALESFORCE_REFRESH_TOKEN"]:
        return Response.json(
            {"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400
        )
    sf = server.state["salesforce"]
    with server.lock:
        number = next(sf["token_counter"])
        access = "00D" + hashlib.sha256(f"sandbox-token-{number}".encode()).hexdigest()[:40]
        sf["tokens"][access] = 0
    issued = str(int(time.time() * 1000))
    return Response.json(
        {
            "access_token": access,
            "instance_url": server.base_url + INSTANCE_PREFIX,
            "id": "https://login.salesforce.com/id/00Dsandbox000001/005sandbox000001",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": hashlib.sha256(issued.encode()).hexdigest()[:43] + "=",
            "scope": "api refresh_token",
        }
    )


def _authorise(request: Request) -> None:
    server = request.server
    sf = server.state["salesforce"]
    header = request.headers.get("authorization", "")
    access = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    with server.lock:
        if access is None or access not in sf["tokens"]:
            raise _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        sf["tokens"][access] += 1
        ttl = sf["token_ttl_requests"]
        if ttl is not None and sf["tokens"][access] > ttl:
            del sf["tokens"][access]
            raise _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        sf["api_usage"] += 1
        if sf["api_usage"] > sf["daily_limit"]:
            raise _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def _limit_headers(server: SandboxServer) -> dict[str, str]:
    sf = server.state["salesforce"]
    return {"Sforce-Limit-Info": f"api-usage={sf['api_usage']}/{sf['daily_limit']}"}


# -- SOQL --------------------------------------------------------------------------------

_ORDER_ITEM = r"\w+(?:\s+(?:ASC|DESC))?(?:\s+NULLS\s+(?:FIRST|LAST))?"
_SOQL = re.compile(
    r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    rf"(?:\s+ORDER\s+BY\s+(?P<order>{_ORDER_ITEM}(?:\s*,\s*{_ORDER_ITEM})*))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*\Z",
    re.IGNORECASE | re.DOTALL,
)
# AND outside string literals: an even number of quotes must follow the keyword.
_AND_OUTSIDE_QUOTES = re.compile(r"\s+AND\s+(?=(?:[^']*'[^']*')*[^']*\Z)", re.IGNORECASE)
_CONDITION = re.compile(
    r"\s*(?P<field>\w+)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>'(?:[^'\\]|\\.)*'|[^\s]+)\s*\Z"
)
_DATETIME_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})\Z")


def _literal(raw: str, field_type: str) -> Any:
    if raw.startswith("'"):
        return raw[1:-1].replace("\\'", "'")
    lowered = raw.lower()
    if lowered == "null":
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _DATETIME_LITERAL.match(raw):
        if field_type != "datetime":
            raise _error(
                400, "MALFORMED_QUERY", f"value of filter criterion is not of type {field_type}"
            )
        return (
            datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
        )
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return datetime.strptime(raw, "%Y-%m-%d").date()
    try:
        return float(raw) if "." in raw else int(raw)
    except ValueError:
        raise _error(400, "MALFORMED_QUERY", f"unexpected token: '{raw}'") from None


def _columns(server: SandboxServer, table: str) -> dict[str, str]:
    rows = server.cursor().execute(f"DESCRIBE {table}").fetchall()
    return {
        name: _DUCK_TO_SF.get(kind, "string") for name, kind, *_ in rows if name != "_valid_from"
    }


def _parse(server: SandboxServer, soql: str) -> dict[str, Any]:
    match = _SOQL.match(soql)
    if match is None:
        raise _error(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:80]!r}")
    sobject = match["object"]
    if sobject not in OBJECTS:
        raise _error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    table, _ = OBJECTS[sobject]
    columns = _columns(server, table)
    by_lower = {name.lower(): name for name in columns}
    selected: list[str] = []
    for raw in match["fields"].split(","):
        name = raw.strip()
        if name.lower() not in by_lower:
            raise _error(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        selected.append(by_lower[name.lower()])
    conditions: list[tuple[str, str, Any]] = []
    if match["where"]:
        for clause in _AND_OUTSIDE_QUOTES.split(match["where"]):
            condition = _CONDITION.match(clause)
            if condition is None:
                raise _error(400, "MALFORMED_QUERY", f"unexpected token: {clause.strip()!r}")
            name = condition["field"]
            if name.lower() not in by_lower:
                raise _error(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'."
                )
            real = by_lower[name.lower()]
            conditions.append((real, condition["op"], _literal(condition["value"], columns[real])))
    order: list[str] = []
    for item in (match["order"] or "").split(","):
        words = item.split()
        if not words:
            continue
        if words[0].lower() not in by_lower:
            raise _error(
                400, "INVALID_FIELD", f"No such column '{words[0]}' on entity '{sobject}'."
            )
        rest = " ".join(w.upper() for w in words[1:])
        order.append(f'"{by_lower[words[0].lower()]}" {rest}'.strip())
    return {
        "object": sobject,
        "table": table,
        "fields": selected,
        "types": columns,
        "conditions": conditions,
        "order": order,
        "limit": int(match["limit"]) if match["limit"] else None,
    }


def _format(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if kind == "date":
        return value.strftime("%Y-%m-%d")
    return value


def _run(server: SandboxServer, parsed: dict[str, Any], include_deleted: bool) -> list[dict]:
    table = parsed["table"]
    soft_deletable = OBJECTS[parsed["object"]][1]
    hard_cutoff = server.now - HARD_DELETE_AFTER
    # Soft-deleted rows sit in the recycle bin for 15 days, then vanish entirely.
    visible = (
        f"NOT IsDeleted OR SystemModstamp >= make_timestamp({hard_cutoff}::BIGINT * 1000000)"
        if soft_deletable
        else ""
    )
    current = server.current(table, "Id", visible)
    where, params = [], []
    if soft_deletable and not include_deleted:
        where.append("NOT IsDeleted")
    for name, op, value in parsed["conditions"]:
        if value is None:
            where.append(f'"{name}" IS {"NOT " if op == "!=" else ""}NULL')
        else:
            where.append(f'"{name}" {"<>" if op == "!=" else op} ?')
            params.append(value)
    sql = f"SELECT {', '.join(chr(34) + f + chr(34) for f in parsed['fields'])} FROM {current}"
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" for w in where)
    # Salesforce leaves tie order unspecified; the sandbox breaks ties by Id, deterministically.
    sql += " ORDER BY " + ", ".join([*parsed["order"], "Id"])
    if parsed["limit"] is not None:
        sql += f" LIMIT {parsed['limit']}"
    rows = server.cursor().execute(sql, params).fetchall()
    types = parsed["types"]
    sobject = parsed["object"]
    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for name, value in zip(parsed["fields"], row, strict=True):
            record[name] = _format(value, types[name])
        record_id = record.get("Id", "")
        record = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/{API_VERSION}/sobjects/{sobject}/{record_id}",
            },
            **record,
        }
        records.append(record)
    return records


def _page(
    server: SandboxServer, locator: str, records: list[dict], start: int, size: int
) -> Response:
    chunk = records[start : start + size]
    done = start + size >= len(records)
    payload: dict[str, Any] = {"totalSize": len(records), "done": done, "records": chunk}
    if not done:
        payload["nextRecordsUrl"] = f"/services/data/{API_VERSION}/query/{locator}-{start + size}"
    return Response.json(payload, headers=_limit_headers(server))


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize=(\d+)", options)
    if match is None:
        return DEFAULT_BATCH
    return max(200, min(2000, int(match.group(1))))


def _query(request: Request, include_deleted: bool) -> Response:
    _authorise(request)
    server = request.server
    soql = request.arg("q")
    if not soql:
        raise _error(400, "MALFORMED_QUERY", "Missing query parameter 'q'")
    parsed = _parse(server, soql)
    records = _run(server, parsed, include_deleted)
    size = _batch_size(request)
    sf = server.state["salesforce"]
    with server.lock:
        locator = f"01gSB{next(sf['locator_counter']):010d}"
        locators = sf["locators"]
        now = time.monotonic()
        for stale in [k for k, v in locators.items() if now - v["touched"] > sf["locator_ttl"]]:
            del locators[stale]
        while len(locators) >= MAX_OPEN_LOCATORS:
            del locators[next(iter(locators))]  # the oldest cursor is released
        locators[locator] = {"records": records, "size": size, "touched": now}
    return _page(server, locator, records, 0, size)


def query(request: Request) -> Response:
    return _query(request, include_deleted=False)


def query_all(request: Request) -> Response:
    return _query(request, include_deleted=True)


def query_more(request: Request) -> Response:
    _authorise(request)
    server = request.server
    locator, start = request.match["locator"], int(request.match["start"])
    sf = server.state["salesforce"]
    with server.lock:
        entry = sf["locators"].get(locator)
        if entry is None or time.monotonic() - entry["touched"] > sf["locator_ttl"]:
            sf["locators"].pop(locator, None)
            raise _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        entry["touched"] = time.monotonic()
    return _page(server, locator, entry["records"], start, entry["size"])


_NOT_NILLABLE = {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "Name"}


def describe(request: Request) -> Response:
    _authorise(request)
    sobject = request.match["object"]
    if sobject not in OBJECTS:
        raise _error(404, "NOT_FOUND", "The requested resource does not exist")
    columns = _columns(request.server, OBJECTS[sobject][0])
    fields = []
    for name, kind in columns.items():
        sf_type = kind
        if name == "Id":
            sf_type = "id"
        elif name.endswith("Id") and kind == "string":
            sf_type = "reference"
        elif name in CURRENCY_FIELDS:
            sf_type = "currency"
        elif name == "Probability":
            sf_type = "percent"
        fields.append(
            {
                "name": name,
                "type": sf_type,
                "nillable": name not in _NOT_NILLABLE,
                "custom": name.endswith("__c"),
                "calculated": False,
                "label": name.replace("__c", "").replace("_", " "),
            }
        )
    return Response.json(
        {"name": sobject, "queryable": True, "fields": fields},
        headers=_limit_headers(request.server),
    )


def sobjects(request: Request) -> Response:
    _authorise(request)
    return Response.json(
        {"sobjects": [{"name": name, "queryable": True} for name in OBJECTS]},
        headers=_limit_headers(request.server),
    )


def versions(request: Request) -> Response:
    return Response.json(
        [
            {
                "label": "Summer '24",
                "url": f"/services/data/{API_VERSION}",
                "version": API_VERSION[1:],
            }
        ]
    )


def limits(request: Request) -> Response:
    _authorise(request)
    sf = request.server.state["salesforce"]
    return Response.json(
        {
            "DailyApiRequests": {
                "Max": sf["daily_limit"],
                "Remaining": sf["daily_limit"] - sf["api_usage"],
            }
        }
    )


def register(server: SandboxServer) -> None:
    from .credentials import sandbox_credentials

    server.state.setdefault("credentials", sandbox_credentials())
    server.state["salesforce"] = {
        "tokens": {},
        "token_counter": itertools.count(1),
        "token_ttl_requests": None,
        "locators": {},
        "locator_counter": itertools.count(1),
        "locator_ttl": LOCATOR_TTL_SECONDS,
        "api_usage": 0,
        "daily_limit": 15_000_000,
    }
    data = INSTANCE_PREFIX + r"/services/data/" + API_VERSION.replace(".", r"\.")
    server.route("POST", PREFIX + r"/services/oauth2/token", token, "salesforce")
    server.route("GET", INSTANCE_PREFIX + r"/services/data/?", versions, "salesforce")
    server.route("GET", data + r"/query/?", query, "salesforce")
    server.route("GET", data + r"/queryAll/?", query_all, "salesforce")
    server.route(
        "GET", data + r"/query/(?P<locator>01g\w+)-(?P<start>\d+)", query_more, "salesforce"
    )
    server.route("GET", data + r"/sobjects/?", sobjects, "salesforce")
    server.route("GET", data + r"/sobjects/(?P<object>\w+)/describe/?", describe, "salesforce")
    server.route("GET", data + r"/limits/?", limits, "salesforce")
