"""Secrets drill: the main job ran with sentinel credentials (conftest); none of them may
appear in anything it left behind.

Scanned: the run's logs (tap logs, dbt's log, the main-job log), the Dagster instance
(SQLite run and event storage, compute logs), the dbt project's `target/` and `logs/`, GX
(validation results, Data Docs), the quality and CX reports and dbt docs, the BI snapshot
(DuckDB and Parquet) and the warehouse itself (every text column), plus the lines the job
printed. Searched for: every sentinel, the Base64 HTTP Basic credentials built from them,
the URL-encoded forms, and the Salesforce access tokens the sandbox issued during the run.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from urllib.parse import quote

import duckdb

from .conftest import SENTINELS, secret_forms

SQL_SUFFIXES = (".duckdb", ".parquet")


def _needles(access_tokens: list[str]) -> dict[str, str]:
    needles = secret_forms()
    for name, value in list(needles.items()):
        if quote(value, safe="") != value:
            needles[f"{name} (URL-encoded)"] = quote(value, safe="")
    for index, token in enumerate(access_tokens):
        needles[f"Salesforce access token {index + 1}"] = token
    return needles


def _text_hits(data: bytes, needles: dict[str, str]) -> list[str]:
    return [name for name, value in needles.items() if value.encode() in data]


def _sql_hits(con: duckdb.DuckDBPyConnection, relation: str, needles: dict[str, str]) -> list[str]:
    """Needles found in any text or JSON column of `relation`."""
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    text = [f'"{name}"::VARCHAR' for name, kind, *_ in columns
            if kind in ("VARCHAR", "JSON") or kind.startswith(("STRUCT", "MAP")) or "[]" in kind]  # fmt: skip
    if not text:
        return []
    pattern = "|".join(re.escape(value) for value in needles.values())
    joined = f"concat_ws(chr(31), {', '.join(text)})"
    found = con.execute(
        f"SELECT DISTINCT unnest(regexp_extract_all({joined}, ?)) FROM {relation}"
        f" WHERE regexp_matches({joined}, ?)",
        [pattern, pattern],
    ).fetchall()
    by_value = {value: name for name, value in needles.items()}
    return [by_value.get(value, value) for (value,) in found]


def _database_hits(path: Path, needles: dict[str, str]) -> list[str]:
    con = duckdb.connect()
    try:
        if path.suffix == ".parquet":
            return _sql_hits(con, f"read_parquet('{path}')", needles)
        con.execute(f"ATTACH '{path}' AS scanned (READ_ONLY)")
        hits = []
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'scanned'"
        ).fetchall():
            hits += _sql_hits(con, f'scanned."{schema}"."{table}"', needles)
        return hits
    finally:
        con.close()


def scan(roots: list[Path], needles: dict[str, str]) -> tuple[dict[str, list[str]], int, int]:
    """Needles found per file under `roots`, files scanned, bytes scanned."""
    hits: dict[str, list[str]] = {}
    files = size = 0
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            files += 1
            size += path.stat().st_size
            if path.suffix in SQL_SUFFIXES:
                found = _database_hits(path, needles)
            else:
                data = path.read_bytes()
                if path.suffix == ".gz":
                    data = gzip.decompress(data)
                found = _text_hits(data, needles)
            if found:
                hits[str(path)] = found
    return hits, files, size


def test_no_secret_in_any_artefact(drill_pipeline, tmp_path: Path) -> None:
    result = drill_pipeline.result
    assert result.success, (result.failures, result.quality_failures)
    data, project = drill_pipeline.data_dir, drill_pipeline.dbt_project
    places = {
        "logs": data / "logs",
        "Dagster storage": drill_pipeline.dagster_home,
        "dbt target/": project / "target",
        "dbt logs/": project / "logs",
        "GX": data / "gx",
        "quality results": data / "quality",
        "reports": data / "reports",
        "BI snapshot": data / "bi",
    }
    for name, place in places.items():  # the scan must see each kind of artefact
        assert place.is_dir() and any(p.is_file() for p in place.rglob("*")), f"{name}: {place}"
    assert (data / "gx" / "uncommitted" / "data_docs").is_dir()
    assert (data / "reports" / "cx" / "index.html").is_file()
    assert list(drill_pipeline.dagster_home.rglob("*.db")), "no Dagster SQLite storage"
    needles = _needles(drill_pipeline.access_tokens)
    assert len(drill_pipeline.access_tokens) >= 1  # the taps did authenticate

    # the scanner finds what it looks for (plain, gzip, DuckDB text column)
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "a.log").write_text(f"Authorization: Basic {needles['Zendesk Basic auth']}")
    (planted / "b.json.gz").write_bytes(gzip.compress(SENTINELS["AMPLITUDE_SECRET_KEY"].encode()))
    with duckdb.connect(str(planted / "c.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS n, ? AS s", [SENTINELS["CX360_PII_SALT"]])
    assert len(scan([planted], needles)[0]) == 3

    roots = [data, drill_pipeline.dagster_home, project / "target", project / "logs"]
    hits, files, size = scan(roots, needles)  # data: logs, GX, reports, BI, warehouse
    hits.update({"main-job output": _text_hits("\n".join(drill_pipeline.lines).encode(), needles)})
    hits = {where: found for where, found in hits.items() if found}
    print(
        f"\nsecrets drill: {len(SENTINELS)} sentinel credentials (+ Basic-auth and URL "
        f"encodings, {len(drill_pipeline.access_tokens)} Salesforce access tokens: "
        f"{len(needles)} strings) searched in {files:,} files ({size / 2**20:,.1f} MiB: "
        f"{', '.join(places)}, warehouse) and the job's output: {len(hits)} found"
    )
    assert not hits, hits
