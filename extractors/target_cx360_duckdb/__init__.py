"""cx360's DuckDB Singer loader: spool → DuckDB ``read_json`` → set-based upsert.

Public API (see :mod:`target_cx360_duckdb.loader` for table/column semantics):

* :class:`DuckDBLoader` — in-process loader (``process``, ``process_line``, ``flush``,
  ``close``, ``stats``).
* :func:`read_state` — the last committed state, to resume a tap.
* ``target-cx360-duckdb --config c.json`` — CLI (:mod:`target_cx360_duckdb.cli`).
"""

from target_cx360_duckdb.loader import (
    DEFAULT_BATCH_SIZE_ROWS,
    DELETED_PROPERTY,
    META_COLUMNS,
    QUARANTINE_TABLE,
    STATE_TABLE,
    DuckDBLoader,
    LoaderError,
    LoaderInputError,
    StreamStats,
    read_state,
)

__all__ = [
    "DEFAULT_BATCH_SIZE_ROWS",
    "DELETED_PROPERTY",
    "META_COLUMNS",
    "QUARANTINE_TABLE",
    "STATE_TABLE",
    "DuckDBLoader",
    "LoaderError",
    "LoaderInputError",
    "StreamStats",
    "read_state",
]
