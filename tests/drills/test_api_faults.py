"""429/5xx drill, full pipeline: the main job under 20 % API faults on every source.

The extract-level drill (tests/extract) compares one extract under faults with a clean one;
here the whole main job runs under the same fault mix (with sentinel credentials, see
conftest), and its raw tables must equal a clean extract's, row for row, with the marts
built and published.
"""

from __future__ import annotations

from pathlib import Path

from tests.tables import contents, differences, row_count


def test_faults_on_every_source_leave_the_clean_tables(drill_pipeline, clean_raw: Path) -> None:
    result = drill_pipeline.result
    assert result.success, (result.failures, result.quality_failures)
    counters = drill_pipeline.counters
    faults = drill_pipeline.faults
    clean, faulted = contents(clean_raw), contents(drill_pipeline.warehouse)
    lost, duplicated = differences(clean, faulted)
    kinds = ", ".join(
        f"{counters[f'faults_{kind}']:,} {label}"
        for kind, label in (("429", "429"), ("5xx", "503"), ("drop", "dropped"),
                            ("truncate", "truncated"))
    )  # fmt: skip
    print(
        f"\n429/5xx drill (full main job): {faults:,} faults injected in "
        f"{counters['requests']:,} API requests ({kinds}), {lost} lost, {duplicated} "
        f"duplicated across {len(clean)} raw tables ({row_count(clean):,} rows); marts built "
        f"and published in {drill_pipeline.seconds:.0f}s"
    )
    assert faults >= 20, counters
    assert set(faulted) == set(clean)
    assert (lost, duplicated) == (0, 0)
    assert result.artefacts["BI snapshot (DuckDB)"].exists()
