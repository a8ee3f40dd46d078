"""target_cx360_duckdb: the DuckDB Singer loader (typed upserts, quarantine, state, BATCH)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from target_cx360_duckdb import DuckDBLoader, LoaderError, LoaderInputError, read_state

SCHEMA = "raw_test"

ACCOUNT_PROPS: dict[str, Any] = {
    "Id": {"type": "string"},
    "Name": {"type": ["null", "string"]},
    "Employees": {"type": ["null", "integer"]},
    "Revenue": {"type": ["null", "number"], "multipleOf": 0.01},
    "Score": {"type": ["null", "number"]},
    "IsActive": {"type": ["null", "boolean"]},
    "CreatedDate": {"type": ["null", "string"], "format": "date-time"},
    "CloseDate": {"type": ["null", "string"], "format": "date"},
    "Address": {"type": ["null", "object"]},
    "Tags": {"type": ["null", "array"], "items": {"type": "string"}},
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
}


def schema_msg(stream: str, props: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys,
    }


def record(stream: str, rec: dict[str, Any], time_extracted: str | None = None) -> dict:
    msg: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": rec}
    if time_extracted:
        msg["time_extracted"] = time_extracted
    return msg


def state(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def feed(loader: DuckDBLoader, messages: Iterable[dict[str, Any]]) -> None:
    for m in messages:
        loader.process_line(json.dumps(m) + "\n")


def load(db: Path, messages: Iterable[dict[str, Any]], **kwargs: Any) -> DuckDBLoader:
    loader = DuckDBLoader(db, SCHEMA, **kwargs)
    feed(loader, messages)
    loader.close()
    return loader


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with duckdb.connect(str(db)) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


def snapshot(db: Path, table: str, order: str = "1") -> list[tuple]:
    """Table contents without _loaded_at and _extracted_at (load/receive times differ by
    design between runs when the tap sends no time_extracted)."""
    sql = f"SELECT * EXCLUDE (_loaded_at, _extracted_at) FROM {SCHEMA}.{table} ORDER BY {order}"
    return rows(db, sql)


def account_messages() -> list[dict[str, Any]]:
    return [
        schema_msg("Account", ACCOUNT_PROPS, ["Id"]),
        record(
            "Account",
            {
                "Id": "001A",
                "Name": "Acme",
                "Employees": 120,
                "Revenue": 1234567.89,
                "Score": 0.25,
                "IsActive": True,
                "CreatedDate": "2024-01-01T12:34:56.000+0000",
                "CloseDate": "2024-02-29",
                "Address": {"city": "Lyon", "zip": "69001"},
                "Tags": ["a", "b"],
            },
            "2024-05-01T00:00:00Z",
        ),
        record("Account", {"Id": "001B", "Name": "Beta", "Employees": None}),
        state({"bookmarks": {"Account": {"replication_key_value": "2024-01-01"}}}),
    ]


# ---------------------------------------------------------------------------- types


def test_column_types_and_values(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load(db, account_messages())
    types = dict(
        rows(
            db,
            f"SELECT column_name, data_type FROM duckdb_columns() "
            f"WHERE schema_name = '{SCHEMA}' AND table_name = 'Account'",
        )
    )
    assert types == {
        "Id": "VARCHAR",
        "Name": "VARCHAR",
        "Employees": "BIGINT",
        "Revenue": "DECIMAL(18,2)",
        "Score": "DOUBLE",
        "IsActive": "BOOLEAN",
        "CreatedDate": "TIMESTAMP WITH TIME ZONE",
        "CloseDate": "DATE",
        "Address": "JSON",
        "Tags": "JSON",
        "_extracted_at": "TIMESTAMP WITH TIME ZONE",
        "_loaded_at": "TIMESTAMP WITH TIME ZONE",
        "_deleted_at": "TIMESTAMP WITH TIME ZONE",
    }
    (row,) = rows(
        db,
        f"SELECT Revenue, Address->>'$.city', Tags->>'$[1]', IsActive, CloseDate::VARCHAR, "
        f"_extracted_at = TIMESTAMPTZ '2024-05-01 00:00:00+00' FROM {SCHEMA}.Account "
        "WHERE Id = '001A'",
    )
    assert row == (Decimal("1234567.89"), "Lyon", "b", True, "2024-02-29", True)
    pk = rows(
        db,
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'Account' AND constraint_type = 'PRIMARY KEY'",
    )
    assert pk == [(["Id"],)]


def test_timestamptz_offsets_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    values = {
        "a": "2024-01-01T12:34:56.000+0000",
        "b": "2024-01-01T12:34:56Z",
        "c": "2024-01-01T07:34:56-05:00",
        "d": "2024-01-01T18:04:56.000+05:30",
        "e": "2024-01-01T12:34:56",  # naive: taken as UTC
    }
    props = {"k": {"type": "string"}, "ts": {"type": "string", "format": "date-time"}}
    load(
        db,
        [schema_msg("t", props, ["k"])]
        + [record("t", {"k": k, "ts": v}) for k, v in values.items()],
    )
    got = rows(db, f"SELECT k, epoch(ts) FROM {SCHEMA}.t ORDER BY k")
    expected = datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC).timestamp()
    assert got == [(k, expected) for k in sorted(values)]


def test_bigint_ids_beyond_2_pow_31_and_53(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ids = [2**31 + 7, 2**53 + 1, 9_223_372_036_854_775_807]
    props = {"id": {"type": "integer"}, "parent_id": {"type": ["null", "integer"]}}
    load(
        db,
        [schema_msg("users", props, ["id"])]
        + [record("users", {"id": i, "parent_id": i}) for i in ids],
    )
    assert rows(db, f"SELECT id, parent_id FROM {SCHEMA}.users ORDER BY id") == [
        (i, i) for i in ids
    ]
    assert rows(db, f"SELECT DISTINCT typeof(id) FROM {SCHEMA}.users") == [("BIGINT",)]


def test_decimal_money_is_exact(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "amount": {"type": "number", "multipleOf": 0.01}}
    msgs = [schema_msg("pay", props, ["id"])]
    msgs += [record("pay", {"id": i, "amount": 0.1}) for i in range(10)]
    msgs += [record("pay", {"id": 99, "amount": "12345678901234.56"})]
    load(db, msgs)
    assert rows(db, f"SELECT sum(amount) FROM {SCHEMA}.pay WHERE id < 10") == [(Decimal("1.00"),)]
    assert rows(db, f"SELECT amount FROM {SCHEMA}.pay WHERE id = 99") == [
        (Decimal("12345678901234.56"),)
    ]


# ---------------------------------------------------------------------------- upserts


def test_last_record_per_key_wins_within_a_batch(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    msgs = [schema_msg("s", props, ["id"])]
    msgs += [record("s", {"id": i % 3, "v": f"v{i}"}) for i in range(10)]
    loader = load(db, msgs)
    assert rows(db, f"SELECT id, v FROM {SCHEMA}.s ORDER BY id") == [
        (0, "v9"),
        (1, "v7"),
        (2, "v8"),
    ]
    assert loader.stats["s"].records == 10
    assert loader.stats["s"].inserted == 3


def test_replay_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load(db, account_messages())
    first = snapshot(db, "Account", "Id")
    second_run = load(db, account_messages())
    assert snapshot(db, "Account", "Id") == first
    stats = second_run.stats["Account"]
    assert (stats.inserted, stats.updated) == (0, 2)


def test_multi_batch_keeps_first_row_of_every_batch(tmp_path: Path) -> None:
    """Regression for target-duckdb 0.8.0 on DuckDB >= 1.3, which lost row 1 per batch."""
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "n": {"type": "integer"}}
    msgs = [schema_msg("e", props, ["id"])]
    msgs += [record("e", {"id": i, "n": i}) for i in range(1, 1001)]
    no_key = [schema_msg("log", {"n": {"type": "integer"}}, [])]
    no_key += [record("log", {"n": i}) for i in range(1, 251)]
    loader = load(db, msgs + no_key, batch_size_rows=100)
    assert rows(db, f"SELECT count(*), min(id), max(id), sum(n) FROM {SCHEMA}.e") == [
        (1000, 1, 1000, 500500)
    ]
    first_rows = rows(db, f"SELECT id FROM {SCHEMA}.e WHERE id % 100 = 1 ORDER BY id")
    assert [r[0] for r in first_rows] == list(range(1, 1001, 100))
    assert rows(db, f"SELECT count(*), sum(n) FROM {SCHEMA}.log") == [(250, 31375)]
    assert loader.stats["e"].flushes == 10


def _batch_file(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return {
        "type": "BATCH",
        "stream": "e",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [path.as_uri()],
    }


def _primary_key(db: Path, table: str) -> list[tuple]:
    return rows(
        db,
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    )


def test_new_table_gets_its_primary_key_at_close_and_the_last_row_per_key(
    tmp_path: Path,
) -> None:
    """A table the loader creates is appended to while it loads and gets its key when the
    loader closes: repeated keys across flushes keep the latest flush's row, as upserts
    would have, and the counts say updated, not inserted."""
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    loader = DuckDBLoader(db, SCHEMA)
    feed(loader, [schema_msg("e", props, ["id"])])
    feed(loader, [_batch_file(tmp_path / "1.jsonl", [{"id": i, "v": "a"} for i in range(5)])])
    feed(loader, [_batch_file(tmp_path / "2.jsonl", [{"id": i, "v": "b"} for i in (3, 4, 5)])])
    feed(loader, [record("e", {"id": 4, "v": "c"})])
    with duckdb.connect(str(db)) as con:  # mid-run: appended, no key yet
        assert con.execute(f"SELECT count(*) FROM {SCHEMA}.e").fetchone() == (8,)
        assert con.execute(f"SELECT * FROM {SCHEMA}._deferred_keys").fetchall() == [("e", ["id"])]
    loader.close()
    assert rows(db, f"SELECT id, v FROM {SCHEMA}.e ORDER BY id") == [
        (0, "a"), (1, "a"), (2, "a"), (3, "b"), (4, "c"), (5, "b"),
    ]  # fmt: skip
    assert _primary_key(db, "e") == [(["id"],)]
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}._deferred_keys") == [(0,)]
    stats = loader.stats["e"]
    assert (stats.records, stats.inserted, stats.updated) == (9, 6, 3)
    # the next run upserts through the key
    again = load(db, [schema_msg("e", props, ["id"]), record("e", {"id": 0, "v": "d"})])
    assert rows(db, f"SELECT v FROM {SCHEMA}.e WHERE id = 0") == [("d",)]
    assert (again.stats["e"].inserted, again.stats["e"].updated) == (0, 1)


def test_killed_run_leaves_key_for_the_next_loader_to_build(tmp_path: Path) -> None:
    """A run killed before closing leaves its new table without the key (and maybe with
    a key twice); the next loader on the warehouse builds the key before loading."""
    db = tmp_path / "w.duckdb"
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    code = f"""
import json, os, sys
sys.path[:0] = {sys.path!r}
from target_cx360_duckdb import DuckDBLoader
loader = DuckDBLoader({str(db)!r}, {SCHEMA!r})
for line in sys.stdin:
    loader.process_line(line)
loader.flush()
os._exit(0)  # killed: no close()
"""
    lines = [schema_msg("e", props, ["id"])]
    lines += [_batch_file(tmp_path / "1.jsonl", [{"id": i, "v": "a"} for i in range(3)])]
    lines += [_batch_file(tmp_path / "2.jsonl", [{"id": 2, "v": "b"}])]
    subprocess.run(
        [sys.executable, "-c", code],
        input="".join(json.dumps(m) + "\n" for m in lines).encode(),
        check=True,
    )
    assert _primary_key(db, "e") == []
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}.e") == [(4,)]
    DuckDBLoader(db, SCHEMA).close()
    assert _primary_key(db, "e") == [(["id"],)]
    assert rows(db, f"SELECT id, v FROM {SCHEMA}.e ORDER BY id") == [(0, "a"), (1, "a"), (2, "b")]
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}._deferred_keys") == [(0,)]


def test_soft_delete_sets_deleted_at(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load(db, account_messages())
    loader = load(
        db,
        [
            schema_msg("Account", ACCOUNT_PROPS, ["Id"]),
            record(
                "Account",
                {"Id": "001A", "Name": "Acme", "_sdc_deleted_at": "2024-06-01T10:00:00.000+0000"},
            ),
        ],
    )
    got = rows(db, f"SELECT Id, _deleted_at FROM {SCHEMA}.Account ORDER BY Id")
    assert got[0][0] == "001A"
    assert got[0][1] == datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert got[1] == ("001B", None)
    assert loader.stats["Account"].deleted == 1
    cols = [
        c
        for (c,) in rows(
            db, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'Account'"
        )
    ]
    assert "_sdc_deleted_at" not in cols


def test_extracted_at_defaults_to_receive_time(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    before = datetime.now(UTC)
    load(db, account_messages())
    got = dict(rows(db, f"SELECT Id, _extracted_at FROM {SCHEMA}.Account"))
    assert got["001A"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert before.timestamp() - 1 <= got["001B"].timestamp() <= time.time() + 1


# ---------------------------------------------------------------------------- schema


def test_additive_schema_evolution_and_widening(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    v1 = {
        "id": {"type": "integer"},
        "num": {"type": "integer"},
        "when": {"type": "string", "format": "date"},
        "code": {"type": "integer"},
        "gone": {"type": "string"},
    }
    load(
        db,
        [
            schema_msg("t", v1, ["id"]),
            record("t", {"id": 1, "num": 5, "when": "2024-01-02", "code": 7, "gone": "x"}),
        ],
    )
    v2 = {
        "id": {"type": "integer"},
        "num": {"type": "number"},  # BIGINT -> DOUBLE
        "when": {"type": "string", "format": "date-time"},  # DATE -> TIMESTAMPTZ
        "code": {"type": "string"},  # BIGINT -> VARCHAR
        "added": {"type": "object"},  # new column
    }  # "gone" dropped from the schema: its column stays
    load(
        db,
        [
            schema_msg("t", v2, ["id"]),
            record(
                "t",
                {
                    "id": 2,
                    "num": 2.5,
                    "when": "2024-03-01T10:00:00-02:00",
                    "code": "A-7",
                    "added": {"x": 1},
                },
            ),
        ],
    )
    types = dict(
        rows(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 't'")
    )
    assert types["num"] == "DOUBLE"
    assert types["when"] == "TIMESTAMP WITH TIME ZONE"
    assert types["code"] == "VARCHAR"
    assert types["added"] == "JSON"
    assert types["gone"] == "VARCHAR"
    got = rows(
        db, f"SELECT id, num, \"when\", code, added->>'$.x', gone FROM {SCHEMA}.t ORDER BY id"
    )
    assert got == [
        (1, 5.0, datetime(2024, 1, 2, tzinfo=UTC), "7", None, "x"),
        (2, 2.5, datetime(2024, 3, 1, 12, tzinfo=UTC), "A-7", "1", None),
    ]
    # A narrower schema later never narrows the table.
    load(db, [schema_msg("t", v1, ["id"]), record("t", {"id": 3, "num": 1, "code": 3})])
    types = dict(
        rows(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 't'")
    )
    assert types["num"] == "DOUBLE" and types["code"] == "VARCHAR"


def test_key_column_widening_rebuilds_table(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load(db, [schema_msg("t", {"id": {"type": "integer"}}, ["id"]), record("t", {"id": 1})])
    load(
        db,
        [
            schema_msg("t", {"id": {"type": "string"}}, ["id"]),
            record("t", {"id": "x-2"}),
            record("t", {"id": "1"}),
        ],
    )
    assert rows(db, f"SELECT id FROM {SCHEMA}.t ORDER BY id") == [("1",), ("x-2",)]
    pk = rows(
        db,
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 't' AND constraint_type = 'PRIMARY KEY'",
    )
    assert pk == [(["id"],)]


def test_schema_change_mid_stream_flushes_old_rows_first(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    v1 = {"id": {"type": "integer"}, "a": {"type": "integer"}}
    v2 = {**v1, "b": {"type": "string"}}
    load(
        db,
        [
            schema_msg("t", v1, ["id"]),
            record("t", {"id": 1, "a": 1}),
            schema_msg("t", v2, ["id"]),
            record("t", {"id": 2, "a": 2, "b": "z"}),
        ],
    )
    assert rows(db, f"SELECT id, a, b FROM {SCHEMA}.t ORDER BY id") == [(1, 1, None), (2, 2, "z")]


# ---------------------------------------------------------------------------- quarantine


def test_quarantine_wrong_type_and_missing_key(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    msgs = [
        *account_messages()[:1],
        record("Account", {"Id": "ok1", "Employees": 5}),
        record("Account", {"Id": "bad1", "Employees": "lots"}),
        record("Account", {"Id": "bad2", "CreatedDate": "yesterday", "Employees": 1.5}),
        record("Account", {"Name": "no key"}),
        record("Account", {"Id": None, "Name": "null key"}),
    ]
    loader = load(db, msgs)
    assert rows(db, f"SELECT Id FROM {SCHEMA}.Account") == [("ok1",)]
    q = rows(db, f"SELECT stream, payload, error FROM {SCHEMA}._quarantine ORDER BY error")
    assert len(q) == 4
    by_payload = {json.loads(p).get("Id") or json.loads(p)["Name"]: e for _, p, e in q}
    assert "field 'Employees': value 'lots' is not a valid BIGINT" in by_payload["bad1"]
    assert "field 'CreatedDate': value 'yesterday'" in by_payload["bad2"]
    assert "field 'Employees': value '1.5'" in by_payload["bad2"]
    assert "key property 'Id' is null or missing" in by_payload["no key"]
    assert "key property 'Id' is null or missing" in by_payload["null key"]
    assert {s for s, _, _ in q} == {"Account"}
    assert json.loads(q[0][1]) in [
        {"Id": "bad1", "Employees": "lots"},
        {"Id": "bad2", "CreatedDate": "yesterday", "Employees": 1.5},
        {"Name": "no key"},
        {"Id": None, "Name": "null key"},
    ]
    assert loader.stats["Account"].quarantined == 4
    assert loader.stats["Account"].inserted == 1


# ---------------------------------------------------------------------------- BATCH


def test_batch_gzip_manifest(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    files = []
    for n, chunk in enumerate([range(0, 50), range(50, 100)]):
        path = tmp_path / f"batch-{n}.json.gz"
        with gzip.open(path, "wt") as fh:
            for i in chunk:
                fh.write(
                    json.dumps({"id": i % 60, "v": f"v{i}", "ts": "2024-01-01T00:00:00Z"}) + "\n"
                )
            if n == 1:
                fh.write(json.dumps({"id": "not-a-number", "v": "bad"}) + "\n")
        files.append(path.as_uri())
    props = {
        "id": {"type": "integer"},
        "v": {"type": "string"},
        "ts": {"type": "string", "format": "date-time"},
    }
    loader = load(
        db,
        [
            schema_msg("events", props, ["id"]),
            record("events", {"id": 1, "v": "from-record"}),
            {
                "type": "BATCH",
                "stream": "events",
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "manifest": files,
            },
            state({"bookmarks": {"events": 99}}),
        ],
    )
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}.events") == [(60,)]
    # last occurrence wins across files (ids 0..39 appear twice) and beats the RECORD
    assert rows(db, f"SELECT v FROM {SCHEMA}.events WHERE id IN (1, 45) ORDER BY id") == [
        ("v61",),
        ("v45",),
    ]
    q = rows(db, f"SELECT payload, error FROM {SCHEMA}._quarantine")
    assert len(q) == 1
    assert json.loads(q[0][0]) == {"id": "not-a-number", "v": "bad"}
    assert "field 'id'" in q[0][1]
    assert loader.stats["events"].records == 102
    assert read_state(db, SCHEMA) == {"bookmarks": {"events": 99}}


# ---------------------------------------------------------------------------- state


def test_state_committed_with_data_and_emitted_after_commit(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    seen: list[tuple[Any, int, Any]] = []
    props = {"id": {"type": "integer"}}

    def on_state(value: Any) -> None:
        # A separate connection sees the records and the state already committed.
        con = duckdb.connect(str(db))
        try:
            n = con.execute(f"SELECT count(*) FROM {SCHEMA}.s").fetchone()[0]
            persisted = con.execute(f"SELECT state FROM {SCHEMA}._singer_state").fetchone()[0]
        finally:
            con.close()
        seen.append((value, n, json.loads(persisted)))

    loader = DuckDBLoader(db, SCHEMA, batch_size_rows=5, on_state=on_state)
    feed(loader, [schema_msg("s", props, ["id"])])
    for i in range(12):
        feed(loader, [record("s", {"id": i}), state({"n": i + 1})])
        if i == 2:
            assert seen == []  # 3 records and a state received, nothing flushed yet
    loader.close()
    assert seen == [
        ({"n": 4}, 5, {"n": 4}),  # flush at 5 rows: the state received before row 5
        ({"n": 9}, 10, {"n": 9}),
        ({"n": 12}, 12, {"n": 12}),
    ]
    assert read_state(db, SCHEMA) == {"n": 12}
    assert loader.committed_state == {"n": 12}


def test_failed_flush_keeps_old_state_and_data(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load(db, account_messages())
    emitted: list[Any] = []
    loader = DuckDBLoader(db, SCHEMA, on_state=emitted.append, background_flush=False)
    feed(
        loader,
        [
            schema_msg("Account", ACCOUNT_PROPS, ["Id"]),
            record("Account", {"Id": "NEW"}),
            state({"v": "new"}),
        ],
    )
    # Make the flush fail inside the transaction: the spool disappears under it.
    for st in loader._streams.values():
        st.spool.close()  # type: ignore[union-attr]
        st.spool = None
        st.spool_path.unlink()
    with pytest.raises(LoaderError, match="rolled back"):
        loader.close()
    assert emitted == []
    assert read_state(db, SCHEMA) == {
        "bookmarks": {"Account": {"replication_key_value": "2024-01-01"}}
    }
    assert rows(db, f"SELECT Id FROM {SCHEMA}.Account ORDER BY Id") == [("001A",), ("001B",)]


def test_process_accepts_decoded_messages(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with DuckDBLoader(db, SCHEMA) as loader:
        loader.process(schema_msg("Account", ACCOUNT_PROPS, ["Id"]))
        loader.process(
            {
                "type": "RECORD",
                "stream": "Account",
                "record": {"Id": "x", "Revenue": Decimal("10.05")},
                "time_extracted": datetime(2024, 1, 1, tzinfo=UTC),
            }
        )
    assert rows(db, f"SELECT Revenue, _extracted_at FROM {SCHEMA}.Account") == [
        (Decimal("10.05"), datetime(2024, 1, 1, tzinfo=UTC))
    ]


# ---------------------------------------------------------------------------- bad input


def test_bad_input_names_line_and_stream(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    loader = DuckDBLoader(db, SCHEMA)
    feed(loader, account_messages())
    loader.flush()
    with pytest.raises(LoaderInputError, match=r"line 5: not a valid Singer message"):
        loader.process_line('{"type": "RECORD", "stream": "Account", "record": {"Id": ')
    loader.abort()
    loader = DuckDBLoader(db, SCHEMA)
    with pytest.raises(LoaderInputError, match=r"line 1: RECORD for stream 'Nope' before any"):
        feed(loader, [record("Nope", {"id": 1})])
    loader.abort()
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}.Account") == [(2,)]


def _cli(config: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "target_cx360_duckdb.cli",
            "--config",
            str(config),
            "--log-level",
            "WARNING",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_cli_emits_state_and_reports_bad_line(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"database": str(db), "schema": SCHEMA}))
    lines = "".join(json.dumps(m) + "\n" for m in account_messages())
    proc = _cli(config)
    out, err = proc.communicate(lines.encode(), timeout=60)
    assert proc.returncode == 0, err
    assert [json.loads(x) for x in out.splitlines()] == [
        {"bookmarks": {"Account": {"replication_key_value": "2024-01-01"}}}
    ]
    proc = _cli(config)
    out, err = proc.communicate((lines + "not json\n").encode(), timeout=60)
    assert proc.returncode == 1
    assert b"line 5" in err
    assert out == b""  # nothing committed by the failed run, so no state emitted
    assert rows(db, f"SELECT count(*) FROM {SCHEMA}.Account") == [(2,)]


# ---------------------------------------------------------------------------- crash


N_CRASH = 30_000
KEYS = 3_000


def _tap(start: int) -> Iterable[bytes]:
    """A deterministic fake tap: record i sets key i % KEYS to i; state after each 250."""
    props = {"k": {"type": "integer"}, "v": {"type": "integer"}}
    yield (json.dumps(schema_msg("c", props, ["k"])) + "\n").encode()
    for i in range(start, N_CRASH):
        yield b'{"type":"RECORD","stream":"c","record":{"k":%d,"v":%d}}\n' % (i % KEYS, i)
        if (i + 1) % 250 == 0:
            yield b'{"type":"STATE","value":{"next":%d}}\n' % (i + 1)


def _expected(upto: int) -> list[tuple[int, int]]:
    last: dict[int, int] = {}
    for i in range(upto):
        last[i % KEYS] = i
    return sorted(last.items())


def test_sigkill_leaves_whole_batches_and_resume_converges(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"database": str(db), "schema": SCHEMA, "batch_size_rows": 1000}))
    proc = _cli(config)

    def writer() -> None:
        try:
            for line in _tap(0):
                proc.stdin.write(line)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    for _ in range(3):  # let a few flushes commit, then kill mid-stream
        assert proc.stdout.readline()  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    thread.join(timeout=30)

    resume = read_state(db, SCHEMA)
    assert resume is not None
    (committed,) = rows(db, f"SELECT max(v) + 1 FROM {SCHEMA}.c")[0]
    assert committed % 1000 == 0, "only whole batches may be committed"
    assert resume["next"] <= committed
    assert rows(db, f"SELECT k, v FROM {SCHEMA}.c ORDER BY k") == _expected(committed)

    # Resume from the persisted state; replayed records converge to the same table.
    proc = _cli(config)
    out, err = proc.communicate(b"".join(_tap(resume["next"])), timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == {"next": N_CRASH}
    assert rows(db, f"SELECT k, v FROM {SCHEMA}.c ORDER BY k") == _expected(N_CRASH)
    assert read_state(db, SCHEMA) == {"next": N_CRASH}
