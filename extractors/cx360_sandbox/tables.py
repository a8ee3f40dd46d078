"""Columnar buffers for the sandbox's source tables.

The generator appends plain Python values column by column and flushes chunks into DuckDB,
so `medium` (millions of ticket versions) never holds its rows as dicts in memory.
Every versioned source table has `_valid_from`: the simulated instant the version became
visible to the API. The server shows, per key, the latest version with `_valid_from <= now`.
"""

from __future__ import annotations

from typing import Any

import duckdb
import msgspec
import pandas as pd

_ENCODER = msgspec.json.Encoder(order="sorted")
_encode_json = _ENCODER.encode

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
        self._pending = 0
        self._column_set = set(columns)
        self._json_columns = [c for c, k in columns.items() if k == "json"]
        self._time_columns = [c for c, k in columns.items() if k in ("ts", "date")]
        self._plain_columns = [c for c, k in columns.items() if k not in ("json", "ts", "date")]
        ddl = ", ".join(f'"{c}" {_SQL_TYPE[k]}' for c, k in columns.items())
        con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")

    def append(self, **values: Any) -> None:
        if not values.keys() <= self._column_set:
            unknown = sorted(set(values) - self._column_set)
            raise KeyError(f"{self.name}: unknown columns {unknown}")
        buffer = self._buffer
        for column in self._plain_columns:
            buffer[column].append(values.get(column))
        for column in self._json_columns:
            value = values.get(column)
            buffer[column].append(None if value is None else _encode_json(value).decode())
        for column in self._time_columns:
            value = values.get(column)
            buffer[column].append(None if value is None else int(value))
        self._pending += 1
        if self._pending >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
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
        self._pending = 0
