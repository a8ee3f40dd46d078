"""PII drill: the BI-facing marts (every table of the published BI snapshot) carry no raw
e-mail address and no customer's name.

Customers' names come from the sandbox's world: every contact, requester, survey respondent
and recipient (first + last name, and the full name as each source spells it); a text value
containing any of them, case-insensitively, is a leak. Employees' names (Salesforce users,
Zendesk agents and admins) are allowed: account owner is a business attribute of the marts;
the figure lists the columns that carry them.
"""

from __future__ import annotations

import duckdb
from cx360_sandbox.store import WorldFiles

from cx360 import snapshot

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
CUSTOMERS = {
    "sf_contacts": ["Name", "FirstName || ' ' || LastName"],
    "zd_users WHERE role = 'end-user'": ["name"],
    "dl_people": ["name"],
    "qx_responses": ["RecipientFirstName || ' ' || RecipientLastName"],
}
EMPLOYEES = {
    "sf_users": ["Name", "FirstName || ' ' || LastName"],
    "zd_users WHERE role <> 'end-user'": ["name"],
}


def _names(con: duckdb.DuckDBPyConnection, world: WorldFiles, table: str, people: dict) -> int:
    selects = []
    for source, expressions in people.items():
        name, _, where = source.partition(" WHERE ")
        for expression in expressions:
            selects.append(
                f"SELECT {expression} AS name FROM read_parquet('{world.path(name)}')"
                + (f" WHERE {where}" if where else "")
            )
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT DISTINCT lower(trim(name)) AS name "
        f"FROM ({' UNION ALL '.join(selects)}) WHERE contains(trim(name), ' ')"
        " AND length(trim(name)) >= 5"
    )
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_bi_marts_carry_no_emails_or_names(drill_pipeline, tiny_world: WorldFiles) -> None:
    bi_dir = drill_pipeline.data_dir / "bi"
    published = snapshot.current(bi_dir)
    assert published is not None and published.tables
    con = duckdb.connect()
    con.execute(f"ATTACH '{snapshot.snapshot_path(bi_dir)}' AS bi (READ_ONLY)")
    names = _names(con, tiny_world, "customer_names", CUSTOMERS)
    _names(con, tiny_world, "employee_names", EMPLOYEES)
    # a customer who shares an employee's name cannot be told apart: counted as an employee
    con.execute("DELETE FROM customer_names WHERE name IN (SELECT name FROM employee_names)")
    assert names > 100
    findings: list[str] = []
    employees: list[str] = []
    columns = values = 0
    for table in published.tables:
        described = con.execute(f'DESCRIBE SELECT * FROM bi."{table}"').fetchall()
        for column, kind, *_ in described:
            if not (
                kind in ("VARCHAR", "JSON") or kind.endswith("[]") or kind.startswith("STRUCT")
            ):
                continue
            columns += 1
            text = f'lower("{column}"::VARCHAR)'
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE scanned AS SELECT DISTINCT {text} AS v "
                f'FROM bi."{table}" WHERE "{column}" IS NOT NULL'
            )
            values += con.execute("SELECT count(*) FROM scanned").fetchone()[0]
            emails = con.execute(
                "SELECT count(*), any_value(v) FROM scanned WHERE regexp_matches(v, ?)", [EMAIL]
            ).fetchone()
            if emails[0]:
                findings.append(f"{table}.{column}: {emails[0]} e-mail values, e.g. {emails[1]!r}")
            people = con.execute(
                "SELECT count(DISTINCT p.name), any_value(p.name) FROM scanned s "
                "JOIN customer_names p ON contains(s.v, p.name)"
            ).fetchone()
            if people[0]:
                findings.append(f"{table}.{column}: {people[0]} customer names, e.g. {people[1]!r}")
            staff = con.execute(
                "SELECT count(*) FROM scanned s JOIN employee_names p ON contains(s.v, p.name)"
            ).fetchone()[0]
            if staff:
                employees.append(f"{table}.{column}")
    con.close()
    print(
        f"\nPII drill: {len(published.tables)} BI tables, {columns} text columns, {values:,} "
        f"distinct values scanned against {names:,} customer names and an e-mail pattern: "
        f"{len(findings)} findings (employee names, allowed, in: {', '.join(employees) or '-'})"
    )
    assert not findings, findings
