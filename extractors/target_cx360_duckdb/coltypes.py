"""JSON Schema → DuckDB column types, and the widening rules for schema evolution.

Why a closed set of types: every column the loader creates is one of ``COLUMN_TYPES``,
so widening is a small lattice we can reason about (and test) instead of an open-ended
mapping. Notably integers are always ``BIGINT`` (never ``HUGEINT``, which dbt/pandas
handle badly) and money is ``DECIMAL(18,2)`` only when the schema says so.

Mapping (first match wins, after dropping ``"null"`` from the type list):

=====================================================  =================
JSON Schema property                                   DuckDB column
=====================================================  =================
``string`` + ``format: date-time``                     ``TIMESTAMPTZ``
``string`` + ``format: date``                          ``DATE``
``integer``                                            ``BIGINT``
``number`` (or ``integer``+``number``) with
``multipleOf: 0.01``  — the cx360 money convention      ``DECIMAL(18,2)``
``number`` (or ``integer``+``number``)                 ``DOUBLE``
``boolean``                                            ``BOOLEAN``
``object`` / ``array`` (or any union containing one),
or no type at all                                      ``JSON``
any other string, or any other union                   ``VARCHAR``
=====================================================  =================

Taps mark currency amounts with ``"multipleOf": 0.01`` (Salesforce ``currency``
fields, Zendesk/Delighted amounts) to get exact ``DECIMAL(18,2)`` instead of ``DOUBLE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

VARCHAR: Final = "VARCHAR"
BIGINT: Final = "BIGINT"
DOUBLE: Final = "DOUBLE"
DECIMAL: Final = "DECIMAL(18,2)"
BOOLEAN: Final = "BOOLEAN"
DATE: Final = "DATE"
TIMESTAMPTZ: Final = "TIMESTAMPTZ"
JSON: Final = "JSON"

COLUMN_TYPES: Final = frozenset(
    {VARCHAR, BIGINT, DOUBLE, DECIMAL, BOOLEAN, DATE, TIMESTAMPTZ, JSON}
)
_NUMERIC: Final = frozenset({BIGINT, DOUBLE, DECIMAL})

# How DuckDB spells our types in duckdb_columns().data_type, where it differs.
_CANONICAL: Final = {"TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ}


def canonical_type(duckdb_type: str) -> str:
    """Normalise a DuckDB type name to one of COLUMN_TYPES (unknown types → VARCHAR).

    Unknown types can only appear if someone altered a table by hand; treating them as
    VARCHAR makes the loader widen towards VARCHAR rather than fail.
    """
    t = duckdb_type.strip().upper()
    if t in COLUMN_TYPES:
        return t
    return _CANONICAL.get(t, VARCHAR)


def _collect(
    schema: Mapping[str, Any], types: set[str], formats: set[str], mult: set[float]
) -> None:
    t = schema.get("type")
    if isinstance(t, str):
        types.add(t)
    elif isinstance(t, list):
        types.update(x for x in t if isinstance(x, str))
    elif "enum" in schema or "const" in schema:
        types.add("string")
    fmt = schema.get("format")
    if isinstance(fmt, str):
        formats.add(fmt)
    m = schema.get("multipleOf")
    if isinstance(m, int | float) and not isinstance(m, bool):
        mult.add(float(m))
    for key in ("anyOf", "oneOf", "allOf"):
        subs = schema.get(key)
        if isinstance(subs, list):
            for sub in subs:
                if isinstance(sub, Mapping):
                    _collect(sub, types, formats, mult)


def column_type(prop_schema: Mapping[str, Any]) -> str:
    """Return the DuckDB column type for one JSON Schema property (see module doc)."""
    types: set[str] = set()
    formats: set[str] = set()
    mult: set[float] = set()
    _collect(prop_schema, types, formats, mult)
    types.discard("null")
    if not types or types & {"object", "array"}:
        return JSON
    if types == {"string"}:
        if "date-time" in formats:
            return TIMESTAMPTZ
        if formats == {"date"}:
            return DATE
        return VARCHAR
    if types == {"integer"}:
        return BIGINT
    if types <= {"integer", "number"}:
        if any(abs(m - 0.01) < 1e-12 for m in mult):
            return DECIMAL
        return DOUBLE
    if types == {"boolean"}:
        return BOOLEAN
    return VARCHAR


def widen(existing: str, new: str) -> str:
    """Smallest type that holds both ``existing`` and ``new`` values; never narrows.

    BIGINT→DECIMAL→DOUBLE (BIGINT+DECIMAL gives DOUBLE: DECIMAL(18,2) cannot hold a
    19-digit id), DATE→TIMESTAMPTZ, JSON absorbs scalars except VARCHAR, and everything
    else meets at VARCHAR.
    """
    if existing == new:
        return existing
    pair = {existing, new}
    if pair <= _NUMERIC:
        return DOUBLE
    if pair == {DATE, TIMESTAMPTZ}:
        return TIMESTAMPTZ
    if JSON in pair and VARCHAR not in pair:
        return JSON
    return VARCHAR


def stage_type(col_type: str) -> str:
    """Type used when DuckDB first reads the spool: everything is text except JSON.

    Reading as VARCHAR keeps the original digits (ids > 2^53, exact money), and lets a
    single TRY_CAST decide validity set-wise instead of per record in Python.
    """
    return JSON if col_type == JSON else VARCHAR


def columns_for_schema(
    properties: Mapping[str, Any], exclude: Iterable[str] = ()
) -> dict[str, str]:
    """Map each property of a stream schema to its column type, skipping ``exclude``."""
    skip = set(exclude)
    return {
        name: column_type(sub if isinstance(sub, Mapping) else {})
        for name, sub in properties.items()
        if name not in skip
    }


CONSTRAINT_KEYWORDS: Final = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "maxLength",
)
"""JSON Schema value constraints the loader enforces (set-wise, like its casts): a value
outside them sends the row to ``_quarantine``. Only a property's top-level keywords count."""


def constraints(prop_schema: Mapping[str, Any]) -> dict[str, float]:
    """The enforced constraints of one property (see ``CONSTRAINT_KEYWORDS``)."""
    found: dict[str, float] = {}
    for keyword in CONSTRAINT_KEYWORDS:
        value = prop_schema.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[keyword] = value
    return found


def constraints_for_schema(
    properties: Mapping[str, Any], exclude: Iterable[str] = ()
) -> dict[str, dict[str, float]]:
    """Constraints per property of a stream schema (properties without any left out)."""
    skip = set(exclude)
    result = {}
    for name, sub in properties.items():
        if name in skip or not isinstance(sub, Mapping):
            continue
        found = constraints(sub)
        if found:
            result[name] = found
    return result
