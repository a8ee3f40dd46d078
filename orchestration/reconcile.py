"""Weekly reconciliation of ids: catch hard deletes that incremental syncs cannot see.

A full sync of the keyed streams goes into a scratch DuckDB file (no state, so the tap reads
everything the API still has); every live row of the warehouse whose key the API no longer
returns is soft-deleted (``_deleted_at`` = now), exactly like a delete the tap reported.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

from cx360.extract import Source, run_source


def primary_keys(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[str]]:
    """Primary-key columns of every table of `schema` (the loader declares key_properties)."""
    rows = con.execute(
        """
        select table_name, constraint_column_names
        from duckdb_constraints()
        where schema_name = ? and constraint_type = 'PRIMARY KEY'
        """,
        [schema],
    ).fetchall()
    return {table: list(columns) for table, columns in rows}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def reconcile_source(
    source: Source,
    warehouse: Path,
    streams: list[str],
    *,
    base_url: str,
    env: Mapping[str, str],
    log_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Full-sync the keyed `streams` aside and soft-delete vanished keys; rows marked per stream."""
    with duckdb.connect(str(warehouse)) as con:
        keys = primary_keys(con, source.schema)
    keyed = [stream for stream in streams if keys.get(stream)]
    if not keyed:
        return {}
    marked: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix=f"cx360-reconcile-{source.name}-") as scratch:
        full = Path(scratch) / "full.duckdb"
        run_source(
            source, full, base_url=base_url, env=env, log_dir=log_dir, streams=keyed,
            progress=progress,
        )  # fmt: skip
        with duckdb.connect(str(warehouse)) as con:
            con.execute(f"attach '{full}' as full_sync (read_only)")
            present = {
                row[0]
                for row in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'full_sync'"
                    " and schema_name = ?",
                    [source.schema],
                ).fetchall()
            }
            con.execute("begin")
            for stream in keyed:
                if stream not in present:
                    continue  # the API returned nothing for it: no evidence, delete nothing
                columns = ", ".join(_quote(c) for c in keys[stream])
                table = f"{_quote(source.schema)}.{_quote(stream)}"
                count = con.execute(
                    f"""
                    update {table} set _deleted_at = now()
                    where _deleted_at is null
                      and ({columns}) not in (select ({columns}) from full_sync.{table})
                    """
                ).fetchone()
                marked[stream] = int(count[0]) if count else 0
            con.execute("commit")
            con.execute("detach full_sync")
    return marked
