"""Every tap through the loader into DuckDB, against the sandbox's ground truth.

Issue #3's must-shows: full sync equals the ground truth; a second run changes nothing; an
incremental run after the clock moves loads exactly the new and changed rows with deletes
marked; faults and SIGKILLs leave final tables equal to a clean run's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_sandbox.store import WorldFiles
from cx360_sandbox.timeline import ANCHOR
from target_cx360_duckdb import read_state

from cx360.extract import extract
from tests.conftest import SandboxControl
from tests.tables import contents, differences, key_column

from .expected import expected_event_count, expected_keys

DAY = 86_400


def _env() -> dict[str, str]:
    return {**os.environ, **sandbox_credentials()}


def _run(warehouse: Path, url: str, logs: Path) -> list:
    return extract([], warehouse, sandbox_url=url, log_dir=logs, env=_env())


def _keys(warehouse: Path, schema: str, table: str) -> set:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        column = key_column(schema, table)
        return {
            r[0] for r in con.execute(f'SELECT "{column}" FROM "{schema}"."{table}"').fetchall()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean_run(tiny_world: WorldFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One clean full sync at the anchor, shared by the comparisons below."""
    root = tmp_path_factory.mktemp("clean")
    with RunningSandbox(tiny_world) as sandbox:
        _run(root / "warehouse.duckdb", sandbox.url, root / "logs")
    yield root / "warehouse.duckdb"


def test_full_sync_equals_ground_truth(clean_run: Path, tiny_world: WorldFiles) -> None:
    expected = expected_keys(tiny_world, ANCHOR)
    for (schema, table), keys in expected.items():
        assert _keys(clean_run, schema, table) == keys, f"{schema}.{table}"
    con = duckdb.connect(str(clean_run), read_only=True)
    [(events,)] = con.execute("SELECT count(*) FROM raw_amplitude.events").fetchall()
    bookmark = read_state(con, "raw_amplitude")["bookmarks"]["events"]["replication_key_value"]
    con.close()
    # Exports become available two hours after upload: the sync covers exactly up to then.
    available = datetime.fromtimestamp(ANCHOR, UTC) - timedelta(hours=2)
    assert datetime.fromisoformat(bookmark) == available
    assert events == expected_event_count(tiny_world, available) > 0
    loaded_tables = set(contents(clean_run))
    assert set(expected) | {("raw_amplitude", "events"), ("raw_qualtrics", "distributions")} <= (
        loaded_tables
    )


def test_soft_deletes_are_marked(clean_run: Path, tiny_world: WorldFiles) -> None:
    con = duckdb.connect(str(clean_run), read_only=True)
    deleted_tickets = con.execute(
        "SELECT count(*) FROM raw_zendesk.tickets WHERE status = 'deleted' AND _deleted_at IS NULL"
    ).fetchone()[0]
    marked = con.execute(
        "SELECT count(*) FROM raw_zendesk.tickets WHERE _deleted_at IS NOT NULL"
    ).fetchone()[0]
    con.close()
    assert deleted_tickets == 0 and marked > 0


def test_second_run_changes_nothing(
    clean_run: Path, tiny_world: WorldFiles, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with RunningSandbox(tiny_world) as sandbox:
        _run(warehouse, sandbox.url, tmp_path / "logs")
        first = contents(warehouse)
        results = _run(warehouse, sandbox.url, tmp_path / "logs")
    assert contents(warehouse) == first == contents(clean_run)
    inserted = {f"{r.source}.{s.stream}": s.inserted for r in results for s in r.streams}
    assert not any(inserted.values()), inserted


def test_incremental_run_loads_new_and_changed_rows_and_marks_deletes(
    tiny_world: WorldFiles, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with RunningSandbox(tiny_world) as sandbox:
        _run(warehouse, sandbox.url, tmp_path / "logs")
        before = {key: _keys(warehouse, *key) for key in expected_keys(tiny_world, ANCHOR)}
        SandboxControl(sandbox.url).advance(days=10)
        results = _run(warehouse, sandbox.url, tmp_path / "logs")
    now = ANCHOR + 10 * DAY
    expected = expected_keys(tiny_world, now)
    inserted = {(f"raw_{r.source}", s.stream): s.inserted for r in results for s in r.streams}
    for key, keys in expected.items():
        loaded = _keys(warehouse, *key)
        assert loaded == keys | before[key], key  # deletes stay as soft-deleted rows
        assert inserted.get(key, 0) == len(keys - before[key]), key
    con = duckdb.connect(str(warehouse), read_only=True)
    deleted = {
        row[0]
        for row in con.execute(
            "SELECT Id FROM raw_salesforce.contacts WHERE _deleted_at IS NOT NULL"
        ).fetchall()
    }
    con.close()
    from tests.sandbox import truth

    newly_deleted = truth.salesforce_ids(
        tiny_world, "sf_contacts", now, True
    ) - truth.salesforce_ids(tiny_world, "sf_contacts", now, False)
    assert newly_deleted and newly_deleted <= deleted


def test_faults_drill_gives_the_clean_tables(
    clean_run: Path, tiny_world: WorldFiles, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with RunningSandbox(tiny_world) as sandbox:
        control = SandboxControl(sandbox.url)
        control.faults(
            rate_429=0.07, rate_5xx=0.07, rate_drop=0.03, rate_truncate=0.03,
            retry_after_seconds=1, seed=20,
        )  # fmt: skip
        _run(warehouse, sandbox.url, tmp_path / "logs")
        counters = control.status()["counters"]
    faults = sum(v for k, v in counters.items() if k.startswith("faults_"))
    assert faults > 20, counters
    lost, duplicated = differences(contents(clean_run), contents(warehouse))
    print(
        f"429/5xx/drop/truncate drill: {faults:,} faults injected, {lost} lost, {duplicated} duplicated"
    )
    assert (lost, duplicated) == (0, 0)


KILLS, KILL_ATTEMPTS = 20, 40


def test_kill_drill_gives_the_clean_tables(
    clean_run: Path, tiny_world: WorldFiles, tmp_path: Path
) -> None:
    """SIGKILL the extract (runner and tap) at 20 seeded random moments, then finish.

    Each attempt resumes from what the killed ones left, so later attempts land in
    resumed and incremental runs; an attempt that ends before its kill moment is not counted.
    """
    warehouse = tmp_path / "warehouse.duckdb"
    cx360 = str(Path(sys.executable).with_name("cx360"))
    rng = random.Random(3)
    with RunningSandbox(tiny_world) as sandbox:
        command = [cx360, "extract", "--warehouse", str(warehouse), "--sandbox-url", sandbox.url,
                   "--logs", str(tmp_path / "logs")]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, env=_env(), check=True, capture_output=True)
        full_seconds = time.perf_counter() - started
        warehouse.unlink()
        kill_moments: list[float] = []
        for _ in range(KILL_ATTEMPTS):
            if len(kill_moments) == KILLS:
                break
            process = subprocess.Popen(
                command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            moment = rng.uniform(0.1, full_seconds)
            time.sleep(moment)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                kill_moments.append(moment)
            process.wait()
        subprocess.run(command, env=_env(), check=True, capture_output=True)
    assert len(kill_moments) == KILLS, f"only {len(kill_moments)} attempts were still running"
    lost, duplicated = differences(contents(clean_run), contents(warehouse))
    moments = ", ".join(f"{m:.1f}s" for m in kill_moments)
    print(
        f"extract kill drill: {len(kill_moments)} SIGKILLs at seeded moments ({moments}; "
        f"a clean full extract takes {full_seconds:.1f}s), {lost} lost, {duplicated} duplicated"
    )
    assert (lost, duplicated) == (0, 0)
