"""Expected API contents computed straight from the world files, in plain Python.

A second implementation of "latest version visible at `now`", independent of the server's
SQL, so that paging and visibility bugs in the server cannot hide behind shared code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
from cx360_sandbox.store import WorldFiles

DAY = 86_400


def _rows(world: WorldFiles, table: str) -> list[dict[str, Any]]:
    con = duckdb.connect()
    cursor = con.execute(f"SELECT * FROM read_parquet('{world.path(table)}')")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _epoch(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp())


def latest_versions(world: WorldFiles, table: str, key: str, now: int) -> dict[Any, dict]:
    latest: dict[Any, dict] = {}
    for row in _rows(world, table):
        if _epoch(row["_valid_from"]) > now:
            continue
        current = latest.get(row[key])
        if current is None or row["_valid_from"] >= current["_valid_from"]:
            latest[row[key]] = row
    return latest


def salesforce_ids(world: WorldFiles, table: str, now: int, query_all: bool) -> set[str]:
    """`query` hides soft deletes; `queryAll` shows them for 15 days, then they vanish."""
    ids = set()
    for record_id, row in latest_versions(world, table, "Id", now).items():
        deleted = row.get("IsDeleted", False)
        if not deleted or (query_all and _epoch(row["SystemModstamp"]) >= now - 15 * DAY):
            ids.add(record_id)
    return ids


def zendesk_cursor_ids(world: WorldFiles, table: str, now: int) -> set[int]:
    """Cursor exports exclude items changed within the last minute."""
    return {
        record_id
        for record_id, row in latest_versions(world, table, "id", now).items()
        if _epoch(row["_valid_from"]) <= now - 60
    }


def zendesk_metric_set_ids(world: WorldFiles, now: int) -> set[int]:
    """Metric sets sideloaded on the ticket export: those of the tickets it serves."""
    tickets = zendesk_cursor_ids(world, "zd_tickets", now)
    return {
        metric_id
        for metric_id, row in latest_versions(world, "zd_ticket_metrics", "id", now).items()
        if row["ticket_id"] in tickets
    }


def visible_ids(world: WorldFiles, table: str, key: str, now: int) -> set[Any]:
    return set(latest_versions(world, table, key, now))
