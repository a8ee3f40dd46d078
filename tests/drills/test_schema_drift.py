"""Schema-drift drill: between two runs the sandbox adds a field, drops a field and widens a
type, on Salesforce (fields come from describe) and on Zendesk (fixed field maps); the second
run must not fail, nor quarantine anything, and the new Salesforce field must be a column.

What each source can show: Salesforce taps build their schema from describe, so an added
field becomes a new column, a dropped one stays (rows read afterwards keep their last loaded
value: the loader's upsert writes the columns the stream still has; new rows get NULL) and
an `int` that becomes `double` widens the column to DOUBLE. The Zendesk tap has a fixed
schema: a field Zendesk adds is dropped by the tap (it needs a release to pick it up; in
RECORD mode singer-sdk logs a warning naming it, the BATCH path of tickets drops it
silently), a dropped one is NULL for rows read afterwards (the schema still declares it),
and ids sent as strings still load.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from cx360_sandbox.store import WorldFiles

from cx360.extract import extract
from tests.conftest import SandboxControl

from .conftest import sentinel_env, sentinel_sandbox

STREAMS = ["salesforce.accounts", "zendesk.tickets"]
DRIFT = {
    "salesforce": {
        "Account": {
            "add": {"Health_Score__c": "DOUBLE"},
            "drop": ["Website"],
            "widen": {"NumberOfEmployees": "DOUBLE"},
        }
    },
    "zendesk": {
        "tickets": {
            "add": {"sla_policy": "'standard'"},
            "drop": ["priority"],
            "widen": {"group_id": "VARCHAR"},
        }
    },
}
DAYS = 7


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns()"
            " WHERE schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    )


def test_added_dropped_and_widened_fields_do_not_fail_the_run(
    tiny_world: WorldFiles, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    logs = tmp_path / "logs"
    with sentinel_sandbox(tiny_world) as sandbox:
        control = SandboxControl(sandbox.url)
        extract(STREAMS, warehouse, sandbox_url=sandbox.url, log_dir=logs, env=sentinel_env())
        with duckdb.connect(str(warehouse), read_only=True) as con:
            before = dict(
                con.execute('SELECT "Id", "NumberOfEmployees" FROM raw_salesforce.accounts')
                .fetchall()
            )  # fmt: skip
            first_load = con.execute(
                "SELECT max(_loaded_at) FROM raw_salesforce.accounts"
            ).fetchone()[0]
        applied = control.drift(**DRIFT)["applied"]
        control.advance(days=DAYS)
        results = extract(STREAMS, warehouse, sandbox_url=sandbox.url, log_dir=logs,
                          env=sentinel_env())  # fmt: skip
    summary = {f"{r.source}.{s.stream}": s for r in results for s in r.streams}
    con = duckdb.connect(str(warehouse), read_only=True)
    accounts = _columns(con, "raw_salesforce", "accounts")
    tickets = _columns(con, "raw_zendesk", "tickets")
    quarantined = sum(
        con.execute(f"SELECT count(*) FROM {schema}._quarantine").fetchone()[0]
        for schema in ("raw_salesforce", "raw_zendesk")
    )
    reread, health, website = con.execute(
        'SELECT count(*), count("Health_Score__c"), count("Website")'
        " FROM raw_salesforce.accounts WHERE _loaded_at > ?",
        [first_load],
    ).fetchone()
    kept = con.execute(
        'SELECT "Id", "NumberOfEmployees" FROM raw_salesforce.accounts WHERE _loaded_at <= ?',
        [first_load],
    ).fetchall()
    tickets_reread, priorities, groups = con.execute(
        "SELECT count(*), count(priority), count(group_id) FROM raw_zendesk.tickets"
        " WHERE _loaded_at = (SELECT max(_loaded_at) FROM raw_zendesk.tickets)"
    ).fetchone()
    con.close()
    warned = "sla_policy" in (logs / "extract-zendesk.log").read_text()
    print(
        f"\nschema-drift drill: {len(applied)} changes ({'; '.join(applied)}), second run "
        f"{DAYS} simulated days later: 0 failures, {quarantined} quarantined; new column "
        f"Health_Score__c {accounts.get('Health_Score__c')} ({health}/{reread} re-read accounts "
        f"filled), Website kept as a column ({website}/{reread} re-read rows keep their last "
        f"value), NumberOfEmployees {accounts.get('NumberOfEmployees')}; Zendesk: sla_policy "
        f"dropped by the tap (warning logged: {warned}), priority NULL on "
        f"{tickets_reread - priorities}/{tickets_reread} re-read "
        f"tickets, group_id as text still {tickets.get('group_id')}"
    )
    assert summary["salesforce.accounts"].records > 0 and summary["zendesk.tickets"].records > 0
    assert quarantined == 0
    # Salesforce: new column present, dropped one kept, widened type, old values intact
    assert accounts.get("Health_Score__c") == "DOUBLE"
    assert reread > 0 and health == reread and "Website" in accounts
    assert accounts["NumberOfEmployees"] == "DOUBLE"
    assert all(before[key] == value for key, value in kept)
    # Zendesk: the unknown field is not loaded; the dropped one is NULL; ids load
    assert tickets_reread > 0 and priorities == 0 and groups > 0
    assert tickets["group_id"] == "BIGINT" and "sla_policy" not in tickets
