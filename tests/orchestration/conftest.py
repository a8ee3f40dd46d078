"""Fixtures for the orchestration tests: the dbt manifest, and one main-job run at `tiny`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.constants import DBT_PROJECT_DIR


@pytest.fixture(scope="session")
def dbt_project():
    """The repository's dbt project with its manifest prepared (``dbt parse``): outside
    ``dagster dev`` nothing else prepares it."""
    from orchestration.defs import dbt as dbt_defs

    project = dbt_defs.load_project(DBT_PROJECT_DIR, parse=True)
    assert project is not None, f"no dbt project at {DBT_PROJECT_DIR}"
    return project


@dataclass
class Pipeline:
    result: object
    data_dir: Path
    warehouse: Path
    instance: object
    lines: list[str]


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_world, tmp_path_factory, dbt_project) -> Pipeline:
    """The main job once, in-process, against the `tiny` sandbox (ephemeral Dagster instance)."""
    from dagster import DagsterInstance

    from orchestration.jobs import run_main_job

    data_dir = tmp_path_factory.mktemp("cx360-data")
    instance = DagsterInstance.ephemeral()
    lines: list[str] = []
    saved = {k: os.environ.get(k) for k in ("CX360_NOW",)}
    result = run_main_job(
        "tiny", 42, data_dir=data_dir, world_root=tiny_world.directory.parent,
        dbt_project_dir=dbt_project.project_dir, instance=instance, echo=lines.append,
    )  # fmt: skip
    for key, value in saved.items():
        assert os.environ.get(key) == value, f"run_main_job leaked {key} into the environment"
    return Pipeline(result, data_dir, data_dir / "warehouse.duckdb", instance, lines)
