"""Bad-records drill: ~1 % of the records the sandbox serves are malformed (wrong types,
missing keys, out-of-range scores and counts, dates that do not exist, oversized text; see
cx360_sandbox.server.corruption). Every one must land in `_quarantine` with its reason, and
every other row must load exactly as in a clean extract.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
from cx360_sandbox.store import WorldFiles

from cx360.extract import extract
from tests.conftest import SandboxControl
from tests.tables import contents, differences, key_column, row_count

from .conftest import sentinel_env, sentinel_sandbox

SOURCES = ["salesforce", "zendesk", "delighted"]
RATE, SEED = 0.01, 1
REASONS = {
    "wrong_type": ("is not a valid",),
    "missing_key": ("is null or missing",),
    "out_of_range": ("is below the minimum", "is above the maximum"),
    "invalid_date": ("is not a valid TIMESTAMPTZ", "is not a valid DATE"),
    "oversized_text": ("is longer than maxLength",),
}


def _quarantine(warehouse: Path) -> list[tuple[str, str, dict, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = []
        for source in SOURCES:
            for stream, payload, error in con.execute(
                f"SELECT stream, payload, error FROM raw_{source}._quarantine"
            ).fetchall():
                rows.append((f"raw_{source}", stream, json.loads(payload), error))
        return rows
    finally:
        con.close()


def _explains(error: str, entry: dict) -> bool:
    """The quarantine reason names the damaged field and the kind of damage."""
    field = entry["field"]
    named = f"key property '{field}'" in error or f"field '{field}'" in error
    return named and any(reason in error for reason in REASONS[entry["kind"]])


def test_malformed_records_are_quarantined_with_their_reason(
    tiny_world: WorldFiles, clean_raw: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with sentinel_sandbox(tiny_world) as sandbox:
        control = SandboxControl(sandbox.url)
        control.corruption(rate=RATE, seed=SEED)
        results = extract(SOURCES, warehouse, sandbox_url=sandbox.url, log_dir=tmp_path / "logs",
                          env=sentinel_env())  # fmt: skip
        served = control.corruption()
    malformed = served["records"]
    kinds = Counter(entry["kind"] for entry in malformed)
    assert set(kinds) == set(REASONS), kinds  # every kind of damage was served

    # each malformed record is in quarantine, with its reason
    quarantined = _quarantine(warehouse)
    unexplained = list(quarantined)
    missing = []
    for entry in malformed:
        schema = f"raw_{entry['api']}"
        key = key_column(schema, entry["stream"])
        match = next(
            (
                row
                for row in unexplained
                if row[:2] == (schema, entry["stream"])
                and _explains(row[3], entry)
                and (
                    str(row[2].get(key)) == str(entry["key"])
                    if entry["kind"] != "missing_key"
                    else key not in row[2] or row[2][key] is None
                )
            ),
            None,
        )
        if match is None:
            missing.append(entry)
        else:
            unexplained.remove(match)
            # the same record served twice (page re-reads) is quarantined twice
            unexplained = [row for row in unexplained if row[:3] != match[:3]]
    assert not missing, f"not quarantined with their reason: {missing}"
    assert not unexplained, f"quarantined but served well-formed: {unexplained[:3]}"

    # everything else loaded, exactly as in a clean run
    bad_keys: dict[tuple[str, str], set[str]] = {}
    for entry in malformed:
        bad_keys.setdefault((f"raw_{entry['api']}", entry["stream"]), set()).add(str(entry["key"]))
    in_scope = {f"raw_{source}" for source in SOURCES}
    clean = {
        table: rows
        for table, rows in contents(clean_raw, without_keys=bad_keys).items()
        if table[0] in in_scope
    }
    loaded = contents(warehouse)
    lost, extra = differences(clean, loaded)
    reported = sum(s.quarantined for r in results for s in r.streams)
    per_kind = ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in sorted(kinds.items()))
    print(
        f"\nbad-records drill: {len(malformed)} malformed records served "
        f"({len(malformed) / served['seen']:.1%} of {served['seen']:,} records from "
        f"{len(served['endpoints'])} endpoints): all {len(malformed)} quarantined with their "
        f"reason ({per_kind}); "
        f"{row_count(loaded):,} good rows loaded, {lost} lost, {extra} loaded wrongly; "
        f"extract summary: {reported} quarantined"
    )
    assert (lost, extra) == (0, 0)
    assert reported == len(quarantined)
