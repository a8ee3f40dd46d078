"""Extraction: one multi-asset per tap, one asset per stream (``raw_<source>/<stream>``).

Each tap runs as a subprocess piped into our DuckDB loader (:func:`cx360.extract.run_source`),
incrementally from the state stored in the warehouse. The raw asset keys equal the DuckDB
``schema/table`` and are the upstream of the matching dbt sources, so the lineage runs
source API → raw → staging → marts → reports.
"""

import sys
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Backoff,
    Config,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from cx360.extract import SOURCES, ExtractError, run_source
from orchestration import progress
from orchestration.constants import (
    SOURCE_STREAMS,
    WAREHOUSE_POOL,
    api_asset_path,
    raw_asset_path,
    raw_schema,
)
from orchestration.resources import api_resource_key

EXTRACT_RETRY = RetryPolicy(max_retries=2, delay=15, backoff=Backoff.EXPONENTIAL)
"""Transient API failures: the tap resumes from the state committed with the data."""

API_DESCRIPTIONS = {
    "salesforce": "Salesforce REST API (SOQL query/queryAll), or the sandbox's imitation.",
    "zendesk": "Zendesk Support API (incremental exports, lists), or the sandbox's imitation.",
    "qualtrics": "Qualtrics API v3 (surveys, response exports, distributions), or the sandbox's.",
    "delighted": "Delighted API v1 (survey responses, people), or the sandbox's imitation.",
    "amplitude": "Amplitude Export API (hourly event archives), or the sandbox's imitation.",
}


class ExtractConfig(Config):
    reconcile_deletes: bool = False
    """Also full-sync the keyed streams aside and soft-delete keys the API no longer has."""


def api_specs() -> list[AssetSpec]:
    return [
        AssetSpec(
            api_asset_path(source),
            description=API_DESCRIPTIONS[source],
            group_name="source_apis",
            kinds={"api"},
        )
        for source in SOURCE_STREAMS
    ]


def raw_spec(source: str, stream: str) -> AssetSpec:
    return AssetSpec(
        raw_asset_path(source, stream),
        deps=[AssetKey(api_asset_path(source))],
        description=(
            f"`{raw_schema(source)}.{stream}`: the {source} `{stream}` stream as loaded by "
            "target_cx360_duckdb (upserted by key, soft deletes in `_deleted_at`)."
        ),
        group_name="raw",
        kinds={"singer", "duckdb"},
        tags={"source": source},
        metadata={"dagster/table_name": f"warehouse.{raw_schema(source)}.{stream}"},
        skippable=True,
    )


def _table_counts(con, schema: str) -> dict[str, int]:
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [schema]
        ).fetchall()
    ]
    counts = {}
    for table in tables:
        counts[table] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return counts


def _quarantined(con, schema: str) -> dict[str, int]:
    try:
        rows = con.execute(
            f'select stream, count(*) from "{schema}"._quarantine group by stream'
        ).fetchall()
    except Exception:  # no quarantine table yet
        return {}
    return dict(rows)


def build_extract_assets(source: str):
    streams = SOURCE_STREAMS[source]
    resource_key = api_resource_key(source)

    @multi_asset(
        name=f"extract_{source}",
        specs=[raw_spec(source, stream) for stream in streams],
        can_subset=True,
        pool=WAREHOUSE_POOL,
        retry_policy=EXTRACT_RETRY,
        required_resource_keys={"warehouse", "workspace", resource_key},
        description=f"Run tap-{source} into the warehouse, incrementally from its stored state.",
        op_tags={"cx360/step": "extract"},
    )
    def _extract(context: AssetExecutionContext, config: ExtractConfig):
        api = getattr(context.resources, resource_key)
        warehouse = context.resources.warehouse
        workspace = context.resources.workspace
        selected = [
            s for s in streams if AssetKey(raw_asset_path(source, s)) in context.selected_asset_keys
        ]
        spec = SOURCES[source]
        try:
            env = api.tap_environment()
            if not Path(sys.executable).with_name(spec.tap).exists():
                raise ExtractError(f"{spec.tap} is not installed next to {sys.executable}")
        except ExtractError as error:  # configuration, not transient: do not retry
            raise Failure(str(error), allow_retries=False) from error
        everything = len(selected) == len(streams)
        progress.emit(f"  extract {source}: {', '.join(selected)}", context)
        result = run_source(
            spec,
            Path(warehouse.path),
            base_url=api.resolved_base_url(),
            env=env,
            log_dir=workspace.logs_dir,
            progress=lambda line: progress.emit(line, context),
            streams=None if everything else selected,
        )
        reconciled: dict[str, int] = {}
        if config.reconcile_deletes:
            from orchestration.reconcile import reconcile_source

            reconciled = reconcile_source(
                spec, Path(warehouse.path), selected,
                base_url=api.resolved_base_url(), env=env, log_dir=workspace.logs_dir,
            )  # fmt: skip
        summaries = {s.stream: s for s in result.streams}
        with warehouse.connect() as con:
            counts = _table_counts(con, spec.schema)
            quarantined = _quarantined(con, spec.schema)
        for stream in selected:
            summary = summaries.get(stream)
            line = summary.line() if summary else f"{source}.{stream:28} no new records"
            progress.emit("    " + line, context)
            metadata = {
                "records": summary.records if summary else 0,
                "inserted": summary.inserted if summary else 0,
                "updated": summary.updated if summary else 0,
                "deleted": summary.deleted if summary else 0,
                "quarantined": summary.quarantined if summary else 0,
                "seconds": MetadataValue.float(summary.seconds if summary else 0.0),
                "quarantined_total": quarantined.get(stream, 0),
                "dagster/row_count": counts.get(stream, 0),
                "source_seconds": MetadataValue.float(round(result.seconds, 2)),
            }
            if config.reconcile_deletes:
                metadata["reconciled_deletes"] = reconciled.get(stream, 0)
            yield MaterializeResult(asset_key=raw_asset_path(source, stream), metadata=metadata)

    return _extract


def build_defs() -> Definitions:
    return Definitions(
        assets=[*api_specs(), *(build_extract_assets(source) for source in SOURCE_STREAMS)]
    )
