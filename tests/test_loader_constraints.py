"""target_cx360_duckdb: JSON Schema `minimum`/`maximum`/`maxLength` enforced like casts.

A value outside its schema's range, or text longer than its `maxLength`, sends the row to
`_quarantine` with the reason; the other rows load (RECORD spool and BATCH files alike).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
from target_cx360_duckdb import DuckDBLoader
from target_cx360_duckdb.coltypes import constraints_for_schema

PROPS = {
    "id": {"type": "string"},
    "score": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
    "ratio": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "comment": {"type": ["string", "null"], "maxLength": 12},
    "amount": {"type": ["number", "null"], "multipleOf": 0.01, "minimum": 0},
}
GOOD = {"id": "ok", "score": 10, "ratio": 0.5, "comment": "short", "amount": 0}
BAD = {
    "low": ({"score": -1}, "field 'score': value -1 is below the minimum 0"),
    "high": ({"score": 11}, "field 'score': value 11 is above the maximum 10"),
    "zero": ({"ratio": 0}, "field 'ratio': value 0 is not above the exclusive minimum 0"),
    "one": ({"ratio": 1.0}, "field 'ratio': value 1.0 is not below the exclusive maximum 1"),
    "long": (
        {"comment": "x" * 13},
        "field 'comment': text of 13 characters is longer than maxLength 12",
    ),
    "cents": ({"amount": -0.01}, "field 'amount': value -0.01 is below the minimum 0"),
    "both": (
        {"score": "lots", "comment": "é" * 20},
        "field 'score': value 'lots' is not a valid BIGINT; "
        "field 'comment': text of 20 characters is longer than maxLength 12",
    ),
}


def _messages() -> list[dict]:
    records = [{**GOOD, "id": "ok"}, {**GOOD, "id": "null-score", "score": None}]
    records += [{**GOOD, **change, "id": name} for name, (change, _) in BAD.items()]
    return [
        {"type": "SCHEMA", "stream": "responses", "schema": {"properties": PROPS},
         "key_properties": ["id"]},
        *({"type": "RECORD", "stream": "responses", "record": r} for r in records),
    ]  # fmt: skip


def _check(database: Path) -> None:
    con = duckdb.connect(str(database), read_only=True)
    loaded = {r[0] for r in con.execute("SELECT id FROM raw_test.responses").fetchall()}
    quarantined = dict(
        con.execute("SELECT payload->>'id', error FROM raw_test._quarantine").fetchall()
    )
    con.close()
    assert loaded == {"ok", "null-score"}
    assert quarantined == {name: reason for name, (_, reason) in BAD.items()}


def test_constraints_are_read_from_top_level_keywords() -> None:
    assert constraints_for_schema(PROPS) == {
        "score": {"minimum": 0, "maximum": 10},
        "ratio": {"exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "comment": {"maxLength": 12},
        "amount": {"minimum": 0},
    }


def test_out_of_range_and_oversized_records_are_quarantined(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with DuckDBLoader(database, "raw_test") as loader:
        for message in _messages():
            loader.process(message)
    _check(database)
    assert loader.stats["responses"].quarantined == len(BAD)


def test_constraints_apply_to_batch_files(tmp_path: Path) -> None:
    database, batch = tmp_path / "w.duckdb", tmp_path / "batch.jsonl.gz"
    schema, *records = _messages()
    with gzip.open(batch, "wt") as handle:
        for message in records:
            handle.write(json.dumps(message["record"]) + "\n")
    with DuckDBLoader(database, "raw_test") as loader:
        loader.process(schema)
        loader.process({
            "type": "BATCH", "stream": "responses", "manifest": [batch.as_uri()],
            "encoding": {"format": "jsonl", "compression": "gzip"},
        })  # fmt: skip
    _check(database)
