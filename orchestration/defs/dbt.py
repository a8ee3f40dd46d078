"""dbt: the project as assets (``DbtProject`` + ``@dbt_assets``), dbt tests as asset checks,
and dbt source freshness as (non-blocking) checks on the raw assets.

dbt sources map to ``[schema, table]``, the raw assets' keys, so the raw tables produced by
the extract multi-assets are the upstream of staging. ``prepare_if_dev()`` only acts under
``dagster dev``; everywhere else the manifest must exist, so :func:`load_project` runs
``dbt parse`` when it is missing (and the main job always re-parses first).
"""

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    Config,
    Definitions,
    MetadataValue,
    multi_asset_check,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration import progress
from orchestration.constants import DBT_PROJECT_DIR, WAREHOUSE_POOL
from orchestration.resources import WarehouseResource

log = logging.getLogger(__name__)

DBT_ASSETS_NAME = "dbt_models"


REBUILD_WHEN_UPSTREAM_CHANGED = (
    AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
)
"""Rebuild when an upstream changed, never past a failed blocking check upstream."""


class Cx360DbtTranslator(DagsterDbtTranslator):
    """Sources keyed ``[schema, table]`` (= the raw assets); groups from model folders."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return AssetKey([dbt_resource_props["schema"], table])
        return super().get_asset_key(dbt_resource_props)

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return REBUILD_WHEN_UPSTREAM_CHANGED

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) > 2:
            return str(fqn[1])
        return "dbt"


TRANSLATOR = Cx360DbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=False)
)


def project_dir() -> Path:
    return Path(os.environ.get("CX360_DBT_PROJECT_DIR") or DBT_PROJECT_DIR)


def load_project(directory: Path | None = None, *, parse: bool = False) -> DbtProject | None:
    """The dbt project, its manifest prepared; None while the project does not exist yet."""
    directory = directory or project_dir()
    if not (directory / "dbt_project.yml").exists():
        log.warning("no dbt project at %s: dbt assets are not defined", directory)
        return None
    project = DbtProject(project_dir=directory)
    # prepare_if_dev(), but with our dbt executable (the venv's, whether or not it is on PATH)
    if parse or project.preparer.using_dagster_dev() or not project.manifest_path.exists():
        prepare(project)
    return project


def dbt_executable() -> str:
    """The dbt next to this interpreter (the venv's), else whatever is on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


class DbtPrepareError(RuntimeError):
    pass


def prepare(project: DbtProject) -> None:
    """``dbt parse`` (``dbt deps`` first when the project has packages): writes manifest.json.

    Runs with the venv's dbt and a throwaway warehouse path: parsing needs the profile, not
    the warehouse, and must not take the warehouse's lock.
    """
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.setdefault("CX360_WAREHOUSE", str(Path(tempfile.gettempdir()) / "cx360-dbt-parse.duckdb"))
    commands = []
    if (project.project_dir / "packages.yml").exists() or (
        project.project_dir / "dependencies.yml"
    ).exists():
        commands.append(["deps", "--quiet"])
    commands.append(["parse", "--quiet"])
    for args in commands:
        completed = subprocess.run(
            [dbt_executable(), *args, "--project-dir", str(project.project_dir),
             "--profiles-dir", str(project.profiles_dir),
             "--target-path", str(project.target_path)],
            cwd=project.project_dir, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise DbtPrepareError(
                f"dbt {' '.join(args)} failed in {project.project_dir}:\n"
                + (completed.stdout + completed.stderr)[-3000:]
            )


def manifest_nodes(project: DbtProject) -> dict[str, Any]:
    import json

    return json.loads(project.manifest_path.read_text())


def published_models(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Models the BI snapshot publishes: those under a ``marts`` folder, or with
    ``meta: {cx360_publish: true}``."""
    models = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        meta = {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}
        if meta.get("cx360_publish") is False:
            continue
        in_marts = "marts" in node.get("fqn", [])[1:-1] or meta.get("cx360_publish")
        if in_marts and node.get("config", {}).get("materialized") != "ephemeral":
            models.append(node)
    return sorted(models, key=lambda node: node["name"])


def model_asset_key(node: Mapping[str, Any]) -> AssetKey:
    return TRANSLATOR.get_asset_key(node)


@contextlib.contextmanager
def dbt_environment(warehouse_path: str) -> Iterator[None]:
    """dbt (a subprocess) finds the warehouse through CX360_WAREHOUSE (absolute path)."""
    previous = os.environ.get("CX360_WAREHOUSE")
    os.environ["CX360_WAREHOUSE"] = str(Path(warehouse_path).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CX360_WAREHOUSE", None)
        else:
            os.environ["CX360_WAREHOUSE"] = previous


class DbtBuildConfig(Config):
    full_refresh: bool = False
    """Rebuild incremental models from scratch (the nightly build)."""


def build_dbt_assets(project: DbtProject):
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name=DBT_ASSETS_NAME,
        pool=WAREHOUSE_POOL,
        op_tags={"cx360/step": "dbt"},
    )
    def _dbt_models(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
        progress.emit(
            f"  dbt {' '.join(args)} ({len(context.selected_asset_keys)} assets)", context
        )
        built = checks = 0
        with dbt_environment(warehouse.path):
            for event in dbt.cli(args, context=context).stream():
                kind = type(event).__name__
                if kind in ("Output", "MaterializeResult", "AssetMaterialization"):
                    built += 1
                    if built % 10 == 0:
                        progress.emit(f"    dbt: {built} models built, {checks} tests run")
                elif kind in ("AssetCheckResult", "AssetCheckEvaluation"):
                    checks += 1
                yield event
        progress.emit(f"  dbt: {built} models built, {checks} tests run", context)

    return _dbt_models


def _parse_period(spec: Mapping[str, Any] | None) -> timedelta | None:
    if not spec or spec.get("count") is None or not spec.get("period"):
        return None
    return timedelta(**{f"{spec['period']}s": int(spec["count"])})


def freshness_specs(manifest: Mapping[str, Any]) -> list[tuple[AssetCheckSpec, dict[str, Any]]]:
    specs = []
    for source in manifest.get("sources", {}).values():
        config = source.get("config") or {}
        freshness = source.get("freshness") or config.get("freshness") or {}
        loaded_at = source.get("loaded_at_field") or config.get("loaded_at_field")
        table = source.get("identifier") or source["name"]
        warn, error = (
            _parse_period(freshness.get("warn_after")),
            _parse_period(freshness.get("error_after")),
        )
        if not loaded_at or not (warn or error):
            continue
        key = TRANSLATOR.get_asset_key(source)
        specs.append(
            (
                AssetCheckSpec(
                    "dbt_source_freshness",
                    asset=key,
                    description=(
                        f"dbt source freshness: max({loaded_at}) within "
                        f"warn {warn or '-'} / error {error or '-'} (non-blocking)."
                    ),
                ),
                {
                    # not relation_name: its database is the warehouse file's stem at parse time
                    "relation": f'"{source["schema"]}"."{table}"',
                    "loaded_at": loaded_at,
                    "warn": warn,
                    "error": error,
                },
            )
        )
    return specs


def build_freshness_checks(manifest: Mapping[str, Any]):
    pairs = freshness_specs(manifest)
    if not pairs:
        return None
    settings = {spec.asset_key: extra for spec, extra in pairs}

    @multi_asset_check(
        specs=[spec for spec, _ in pairs],
        name="dbt_source_freshness",
        can_subset=True,
        pool=WAREHOUSE_POOL,
        required_resource_keys={"warehouse", "workspace"},
    )
    def _freshness(context: AssetCheckExecutionContext):
        now_wall = datetime.now(UTC)
        now_ref = context.resources.workspace.reference_now()
        with context.resources.warehouse.connect() as con:
            for check_key in context.selected_asset_check_keys:
                extra = settings[check_key.asset_key]
                # Load timestamps are wall-clock; business timestamps follow the source's clock.
                now = (
                    now_wall
                    if extra["loaded_at"].strip('"') in ("_loaded_at", "_extracted_at")
                    else now_ref
                )
                try:
                    latest = con.execute(
                        f"select max({extra['loaded_at']}) from {extra['relation']}"
                    ).fetchone()[0]
                except Exception as error:  # table missing: not loaded yet
                    yield AssetCheckResult(
                        check_name=check_key.name, asset_key=check_key.asset_key, passed=False,
                        severity=AssetCheckSeverity.WARN, metadata={"error": str(error)[:500]},
                    )  # fmt: skip
                    continue
                if latest is None:
                    age = None
                else:
                    if latest.tzinfo is None:
                        latest = latest.replace(tzinfo=UTC)
                    age = now - latest
                severity, passed = AssetCheckSeverity.WARN, True
                if age is None or (extra["error"] and age > extra["error"]):
                    passed, severity = False, AssetCheckSeverity.ERROR
                elif extra["warn"] and age > extra["warn"]:
                    passed = False
                yield AssetCheckResult(
                    check_name=check_key.name,
                    asset_key=check_key.asset_key,
                    passed=passed,
                    severity=severity,
                    metadata={
                        "latest": MetadataValue.text(str(latest)),
                        "age_hours": MetadataValue.float(
                            round(age.total_seconds() / 3600, 2) if age is not None else -1.0
                        ),
                        "reference_now": MetadataValue.text(now.isoformat()),
                    },
                )

    return _freshness


def build_defs(project: DbtProject | None) -> Definitions:
    if project is None:
        return Definitions()
    manifest = manifest_nodes(project)
    checks = build_freshness_checks(manifest)
    return Definitions(
        assets=[build_dbt_assets(project)],
        asset_checks=[checks] if checks else [],
        resources={"dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable())},
    )
