"""Columnar buffers for the sandbox's source tables.

The generator appends plain Python values column by column and flushes chunks into DuckDB,
so `medium` (millions of ticket versions) never holds its rows as dicts in memory.
Every versioned source table has `_valid_from`: the simulated instant the version became
visible to the API. The server shows, per key, the latest version with `_valid_from <= now`.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

# Column kinds: ts (epoch seconds → TIMESTAMP), date (epoch seconds → DATE), int, float,
# str, bool, json (Python object → JSON text).
_PANDAS_DTYPE = {
    "ts": "Int64",
    "date": "Int64",
    "int": "Int64",
    "float": "Float64",
    "str": "string",
    "bool": "boolean",
    "json": "string",
}
_SQL_TYPE = {
    "ts": "TIMESTAMP",
    "date": "DATE",
    "int": "BIGINT",
    "float": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "json": "JSON",
}


def _sql_expr(column: str, kind: str) -> str:
    quoted = f'"{column}"'
    if kind == "ts":
        return f"make_timestamp({quoted} * 1000000)"
    if kind == "date":
        return f"CAST(make_timestamp({quoted} * 1000000) AS DATE)"
    if kind == "json":
        return f"CAST({quoted} AS JSON)"
    return quoted


class TableBuffer:
    """Accumulates rows of one table and flushes them into DuckDB in chunks."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        columns: dict[str, str],
        chunk_rows: int = 200_000,
    ) -> None:
        self.con = con
        self.name = name
        self.columns = columns
        self.chunk_rows = chunk_rows
        self.rows_written = 0
        self._buffer: dict[str, list[Any]] = {column: [] for column in columns}
        ddl = ", ".join(f'"{c}" {_SQL_TYPE[k]}' for c, k in columns.items())
        con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")

    def append(self, **values: Any) -> None:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"{self.name}: unknown columns {sorted(unknown)}")
        for column, kind in self.columns.items():
            value = values.get(column)
            if kind == "json" and value is not None:
                value = json.dumps(value, sort_keys=True, ensure_ascii=False)
            elif kind in ("ts", "date") and value is not None:
                value = int(value)
            self._buffer[column].append(value)
        if len(self._buffer[next(iter(self.columns))]) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        first = next(iter(self.columns))
        if not self._buffer[first]:
            return
        frame = pd.DataFrame(
            {
                column: pd.array(values, dtype=_PANDAS_DTYPE[self.columns[column]])
                for column, values in self._buffer.items()
            }
        )
        select = ", ".join(_sql_expr(c, k) for c, k in self.columns.items())
        self.con.register("_chunk", frame)
        self.con.execute(f"INSERT INTO {self.name} SELECT {select} FROM _chunk")
        self.con.unregister("_chunk")
        self.rows_written += len(frame)
        self._buffer = {column: [] for column in self.columns}
