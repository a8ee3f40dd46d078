"""Full-content comparisons of warehouse tables, shared by the extract tests and the drills.

`contents()` reads every table of the chosen schemas as sorted rows of text (less the columns
that record *when* a row loaded), so two warehouses compare on content, not counts;
`differences()` counts the rows one side lacks and the rows it has beyond the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import duckdb

# When a row loaded, and Zendesk's `url` (it embeds the server's address, which differs
# between the sandbox instances the tests start), are not part of a row's content.
IGNORED_COLUMNS = ("_extracted_at", "_loaded_at", "url")
RAW_KEYS = {
    "raw_salesforce": "Id",
    "raw_zendesk": "id",
    "raw_delighted": "id",
    "raw_amplitude": "uuid",
}
QUALTRICS_KEYS = {"surveys": "id", "survey_responses": "responseId", "distributions": "id"}

Rows = dict[tuple[str, str], list[tuple]]


def key_column(schema: str, table: str) -> str:
    """The primary key column of a raw table."""
    if schema == "raw_qualtrics":
        return QUALTRICS_KEYS[table]
    return RAW_KEYS[schema]


def tables(
    con: duckdb.DuckDBPyConnection, schema_like: str = "raw_%", schema_not_like: str = ""
) -> list[tuple[str, str]]:
    """(schema, table) of every base table in schemas matching `schema_like` (and not
    `schema_not_like`), bookkeeping tables (`_quarantine`, `_singer_state`) left out."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()"
        " WHERE schema_name LIKE ? AND schema_name NOT LIKE ?"
        " AND NOT starts_with(table_name, '_')"
        " AND database_name = current_database() ORDER BY 1, 2",
        [schema_like, schema_not_like],
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def contents(
    warehouse: Path,
    schema_like: str = "raw_%",
    *,
    schema_not_like: str = "",
    ignored: tuple[str, ...] = IGNORED_COLUMNS,
    without_keys: Mapping[tuple[str, str], set[str]] | None = None,
) -> Rows:
    """Every table's full contents as sorted text rows, less the `ignored` columns.

    `without_keys` leaves out the rows whose key (see :func:`key_column`, compared as text)
    is in the given set, per (schema, table).
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = {}
        for schema, table in tables(con, schema_like, schema_not_like):
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = ?"
                    " AND table_name = ? AND database_name = current_database()"
                    " ORDER BY column_index",
                    [schema, table],
                ).fetchall()
                if name not in ignored
            ]
            select = ", ".join(f'"{c}"::VARCHAR' for c in columns)
            where, params = "", []
            skip = (without_keys or {}).get((schema, table))
            if skip:
                where = f' WHERE "{key_column(schema, table)}"::VARCHAR <> ALL (?::VARCHAR[])'
                params = [sorted(skip)]
            result[(schema, table)] = con.execute(
                f'SELECT {select} FROM "{schema}"."{table}"{where} ORDER BY ALL', params
            ).fetchall()
        return result
    finally:
        con.close()


def differences(clean: Rows, other: Rows) -> tuple[int, int]:
    """Rows of the clean run missing from `other`, and rows `other` has beyond the clean run."""
    lost = duplicated = 0
    for table in clean.keys() | other.keys():
        clean_rows, other_rows = Counter(clean.get(table, [])), Counter(other.get(table, []))
        lost += sum((clean_rows - other_rows).values())
        duplicated += sum((other_rows - clean_rows).values())
    return lost, duplicated


def row_count(rows: Rows) -> int:
    return sum(len(table_rows) for table_rows in rows.values())
