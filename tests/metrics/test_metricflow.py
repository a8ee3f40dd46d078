"""The MetricFlow semantic layer: `mf validate-configs` passes (semantics and the warehouse),
and `mf query --metrics nps --group-by metric_time__quarter,customer__segment` answers with
the same NPS the survey fact gives.

mf reads `<project>/target/semantic_manifest.json` and the profile from the project
directory, so the test parses into a scratch project directory (symlinks to dbt_project's
sources) instead of writing into dbt_project/target."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cx360.dbt import PROJECT_DIR, run_dbt

from .conftest import MetricsWarehouse

MF = Path(sys.executable).with_name("mf")


@pytest.fixture(scope="module")
def mf_project(metrics_warehouse: MetricsWarehouse, tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("mf_project")
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds"):
        (project / name).symlink_to(PROJECT_DIR / name)
    run_dbt(
        ["parse"],
        metrics_warehouse.path,
        project_dir=project,
        target_path=project / "target",
        env=metrics_warehouse.env,
    )
    assert (project / "target" / "semantic_manifest.json").exists()
    env = {
        **os.environ,
        "CX360_WAREHOUSE": str(metrics_warehouse.path),
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
    }
    return project, env


def _mf(args: list[str], project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MF), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def test_mf_validate_configs(mf_project) -> None:
    project, env = mf_project
    result = _mf(["validate-configs"], project, env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert (
        "ERRORS: 0" in output and "Successfully validated metrics against data warehouse" in output
    )


def test_mf_query_nps_by_quarter_and_segment(mf_project, metrics_warehouse) -> None:
    project, env = mf_project
    out = project / "nps.csv"
    result = _mf(
        ["query", "--metrics", "nps", "--group-by", "metric_time__quarter,customer__segment",
         "--csv", str(out)],
        project, env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"metric_time__quarter", "customer__segment", "nps"}
    answered = {
        (row["metric_time__quarter"][:10], row["customer__segment"] or None): float(row["nps"])
        for row in rows
        if row["nps"] not in ("", None)
    }
    with metrics_warehouse.connect() as con:
        expected = {
            (str(quarter), segment): value
            for quarter, segment, value in con.execute(
                """
                SELECT r.response_quarter, c.segment,
                       100.0 * (count(*) FILTER (WHERE r.nps_code = 1)
                                - count(*) FILTER (WHERE r.nps_code = -1)) / count(*)
                FROM marts.fct_survey_responses AS r
                LEFT JOIN marts.dim_customers AS c USING (account_id)
                WHERE r.survey_type = 'NPS'
                GROUP BY ALL
                """
            ).fetchall()
        }
    assert set(answered) == set(expected)
    for key, value in expected.items():
        assert answered[key] == pytest.approx(value, abs=1e-6), key
