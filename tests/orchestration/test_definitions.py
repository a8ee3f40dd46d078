"""Must-show 1: the definitions validate, and every tap stream, dbt model and check is an
asset/check with unbroken lineage from the source APIs to the reports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.constants import REPO_ROOT, SOURCE_STREAMS, WAREHOUSE_POOL, raw_asset_path
from orchestration.defs.quality import GX_CHECK_NAME
from orchestration.validation import load_suite_specs


@pytest.fixture(scope="module")
def defs(dbt_project):
    from orchestration.definitions import build_definitions

    return build_definitions(dbt_project.project_dir)


@pytest.fixture(scope="module")
def manifest(dbt_project):
    from orchestration.defs.dbt import manifest_nodes

    return manifest_nodes(dbt_project)


def test_dagster_definitions_validate(dbt_project, tmp_path: Path) -> None:
    """`dagster definitions validate` with the repository's dagster.yaml as the instance."""
    shutil.copy(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "CX360_DBT_PROJECT_DIR": str(dbt_project.project_dir),
    }
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate",
         "-m", "orchestration.definitions"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "All code locations passed validation" in output
    assert (tmp_path / ".dagster_home").is_dir(), (
        "storage must live under the ignored .dagster_home/"
    )


def test_every_stream_model_and_check_with_unbroken_lineage(defs, manifest) -> None:
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    executable = {key for key in keys if graph.get(key).is_executable}

    # every tap stream is a materializable asset downstream of its source API
    raw_keys = set()
    for source, streams in SOURCE_STREAMS.items():
        for stream in streams:
            key = AssetKey(raw_asset_path(source, stream))
            raw_keys.add(key)
            assert key in executable, f"{key.to_user_string()} is not an extract asset"
            assert AssetKey(["source_api", source]) in graph.get(key).parent_keys

    # every dbt source is one of those raw assets (no dangling external stubs), every model an asset
    from orchestration.defs.dbt import TRANSLATOR

    for source in manifest["sources"].values():
        key = TRANSLATOR.get_asset_key(source)
        assert key in raw_keys, f"dbt source {source['unique_id']} maps to {key}, not a raw asset"
    models = {
        node["unique_id"]: TRANSLATOR.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    for unique_id, key in models.items():
        assert key in executable, f"{unique_id} is not an asset"

    # every raw table feeds a dbt model; every published mart comes from raw tables and feeds
    # the BI snapshot and the CX report; every source API reaches the CX report
    model_keys = set(models.values())
    for key in raw_keys:
        assert graph.get(key).child_keys & model_keys, f"{key.to_user_string()} feeds no dbt model"
    from orchestration.defs.dbt import published_models

    marts = {TRANSLATOR.get_asset_key(node) for node in published_models(manifest)}
    assert marts, "no published marts"
    snapshot_parents = graph.get(AssetKey("bi_snapshot")).parent_keys
    for mart in marts:
        assert mart in snapshot_parents, mart
        assert _ancestors(graph, mart) & raw_keys, f"{mart.to_user_string()} has no raw ancestry"
    report_ancestors = _ancestors(graph, AssetKey("cx_report"))
    assert {AssetKey(["source_api", s]) for s in SOURCE_STREAMS} <= report_ancestors
    assert AssetKey("quality_report") in keys and AssetKey("dbt_docs") in keys

    # every dbt test on a model is an asset check; every GX suite is a check on its table
    check_keys = set(graph.asset_check_keys)
    tests = [
        node for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("attached_node") in models
    ]  # fmt: skip
    checked = {(c.asset_key, c.name) for c in check_keys}
    for test in tests:
        key = models[test["attached_node"]]
        assert (key, test["name"]) in checked, f"dbt test {test['unique_id']} is not a check"
    for suite in load_suite_specs():
        key = AssetKey(list(suite.asset_key))
        if key in keys:
            assert (key, GX_CHECK_NAME) in checked, f"GX suite {suite.name} is not a check"
    # a blocking GX gate on every raw table
    for key in raw_keys:
        check_key = next(c for c in check_keys if c.asset_key == key and c.name == GX_CHECK_NAME)
        assert graph.get_check_spec(check_key).blocking, check_key


def _ancestors(graph, key: AssetKey) -> set[AssetKey]:
    seen: set[AssetKey] = set()
    frontier = [key]
    while frontier:
        current = frontier.pop()
        for parent in graph.get(current).parent_keys:
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return seen


def test_warehouse_steps_take_the_duckdb_pool_and_run_in_process(defs) -> None:
    repo = defs.get_repository_def()
    touching = {"extract_", "dbt_models", "gx_", "bi_snapshot", "dbt_docs", "dbt_source_freshness"}
    nodes = {}
    for job in repo.get_all_jobs():
        assert job.executor_def.name == "in_process", job.name
        for node in job.graph.node_defs:
            nodes[node.name] = node
    for name, node in nodes.items():
        if any(name.startswith(prefix) for prefix in touching):
            assert node.pool == WAREHOUSE_POOL, f"{name} must take the {WAREHOUSE_POOL} pool"
    names = set(nodes)
    assert {f"extract_{s}" for s in SOURCE_STREAMS} <= names


def test_jobs_schedules_and_automation(defs) -> None:
    repo = defs.get_repository_def()
    jobs = {job.name for job in repo.get_all_jobs()}
    assert {
        "cx360_main",
        "cx360_hourly",
        "cx360_nightly",
        "cx360_weekly_reconcile",
        "cx360_build",
    } <= jobs
    schedules = {s.name: s for s in repo.schedule_defs}
    assert schedules["hourly_business_hours"].cron_schedule == "0 8-18 * * 1-5"
    assert schedules["nightly_full_build"].job_name == "cx360_nightly"
    assert schedules["weekly_reconcile_ids"].job_name == "cx360_weekly_reconcile"
    assert any(s.name == "cx360_automation" for s in repo.sensor_defs)
    graph = defs.resolve_asset_graph()
    condition = graph.get(AssetKey(["marts", "customer_360"])).automation_condition
    assert condition is not None and "all_deps_blocking_checks_passed" in str(
        condition.get_label() or condition
    )


def test_dagster_yaml_instance(tmp_path: Path) -> None:
    from dagster import DagsterInstance

    shutil.copy(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        instance = DagsterInstance.from_config(str(tmp_path))
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.run_retries_enabled and instance.run_retries_max_retries >= 1
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert config.pool_config.default_pool_limit == 1
        assert ".dagster_home" in str(instance.run_storage._conn_string)
    finally:
        os.chdir(cwd)
