"""The cx360 Dagster definitions, merged from one module per concern.

    DAGSTER_HOME=$PWD .venv/bin/dagster dev -m orchestration.definitions        # UI on 127.0.0.1
    DAGSTER_HOME=$PWD .venv/bin/dagster definitions validate -m orchestration.definitions

Lineage: ``source_api/<source>`` → ``raw_<source>/<stream>`` (extract) → dbt staging →
intermediate → marts → ``bi_snapshot`` → ``cx_report``; dbt docs and the quality report hang
off the models and the checked tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dagster import AssetKey, Definitions, definitions, in_process_executor

from orchestration.constants import SOURCE_STREAMS, raw_asset_path
from orchestration.defs import dbt as dbt_defs
from orchestration.defs import extract, quality, reports, schedules
from orchestration.resources import build_resources
from orchestration.validation import SuiteSpec


def build_definitions(
    dbt_project_dir: Path | None = None,
    *,
    parse_dbt: bool = False,
    env: Mapping[str, str] | None = None,
    suites: list[SuiteSpec] | None = None,
) -> Definitions:
    project = dbt_defs.load_project(dbt_project_dir, parse=parse_dbt)
    raw_keys = {
        AssetKey(raw_asset_path(source, stream))
        for source, streams in SOURCE_STREAMS.items()
        for stream in streams
    }
    model_keys: list[AssetKey] = []
    mart_nodes: list[dict] = []
    if project is not None:
        manifest = dbt_defs.manifest_nodes(project)
        model_keys = [
            dbt_defs.model_asset_key(node)
            for node in manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed", "snapshot")
        ]
        for node in dbt_defs.published_models(manifest):
            mart_nodes.append({**node, "_asset_key": dbt_defs.model_asset_key(node).path})
    return Definitions.merge(
        extract.build_defs(),
        dbt_defs.build_defs(project),
        quality.build_defs(raw_keys | set(model_keys), suites),
        reports.build_defs(project, mart_nodes, model_keys),
        schedules.build_defs(has_dbt=project is not None),
        Definitions(resources=build_resources(env), executor=in_process_executor),
    )


@definitions
def defs() -> Definitions:
    """Loaded lazily by Dagster's tools (importing this module builds nothing)."""
    return build_definitions()
