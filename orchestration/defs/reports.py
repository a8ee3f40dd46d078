"""Publishing: the BI snapshot, dbt docs, the quality report (GX Data Docs) and the CX report.

All of them sit downstream of the marts (and so of the blocking quality gates): when a gate
fails they are skipped, and the last good snapshot and reports stay published.
"""

import shutil

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import DbtCliResource, DbtProject

from orchestration import progress, quality_report
from orchestration.constants import SOURCE_STREAMS, WAREHOUSE_POOL, raw_asset_path
from orchestration.defs.dbt import REBUILD_WHEN_UPSTREAM_CHANGED, dbt_environment

PUBLISH_GROUP = "publish"


def build_snapshot_asset(mart_nodes: list[dict]):
    keys = [AssetKey(node["_asset_key"]) for node in mart_nodes]
    relations = [
        (node["schema"], node["alias"] or node["name"], node["name"]) for node in mart_nodes
    ]

    @asset(
        name="bi_snapshot",
        automation_condition=REBUILD_WHEN_UPSTREAM_CHANGED,
        group_name=PUBLISH_GROUP,
        deps=keys,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "parquet"},
        required_resource_keys={"warehouse", "workspace"},
        description=(
            "Read-only BI snapshot of the marts (`<data_dir>/bi/cx360_bi.duckdb` + Parquet), "
            "swapped in atomically after a successful build; readers never block the writer."
        ),
    )
    def bi_snapshot(context: AssetExecutionContext) -> MaterializeResult:
        from cx360 import snapshot

        workspace = context.resources.workspace
        with context.resources.warehouse.connect() as con:
            info = snapshot.publish(con, workspace.bi_dir, relations)
        progress.emit(
            f"  published BI snapshot {info.version}: {len(info.tables)} tables → {info.path}",
            context,
        )
        return MaterializeResult(
            metadata={
                "version": info.version,
                "path": MetadataValue.path(str(info.path.resolve())),
                "parquet": MetadataValue.path(str(info.parquet_dir)) if info.parquet_dir else None,
                "tables": MetadataValue.json(info.tables),
                "seconds": MetadataValue.float(info.seconds),
            }
        )

    return bi_snapshot


def offline_dbt_docs(html: str) -> str:
    """Two load errors of dbt's static docs page, fixed in our copy:

    * the sidebar icons bind ``xlink:href="{{ getIcon(...) }}"`` before Angular has
      interpolated it, so the browser requests the literal template; ``ng-attr-`` sets the
      attribute only once it is interpolated;
    * the favicon link is an unbuilt ``${require(...)}`` placeholder; an empty data URI
      stops the request.
    """
    html = html.replace('xlink:href="{{ getIcon(', 'ng-attr-xlink:href="{{ getIcon(')
    return html.replace("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="data:,"')


def build_dbt_docs_asset(project: DbtProject, model_keys: list[AssetKey]):
    @asset(
        name="dbt_docs",
        group_name=PUBLISH_GROUP,
        deps=model_keys,
        pool=WAREHOUSE_POOL,
        kinds={"dbt", "html"},
        required_resource_keys={"warehouse", "workspace", "dbt"},
        description="dbt docs as one static page: the CX data dictionary and lineage.",
    )
    def dbt_docs(context: AssetExecutionContext) -> MaterializeResult:
        dbt: DbtCliResource = context.resources.dbt
        target = context.resources.workspace.reports_dir / "dbt_docs" / "index.html"
        with dbt_environment(context.resources.warehouse.path):
            invocation = dbt.cli(
                ["docs", "generate", "--static"], manifest=project.manifest_path
            ).wait()
        static = invocation.target_path / "static_index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(offline_dbt_docs(static.read_text(encoding="utf-8")), encoding="utf-8")
        for name in ("manifest.json", "catalog.json"):
            if (invocation.target_path / name).exists():
                shutil.copyfile(invocation.target_path / name, target.parent / name)
        progress.emit(f"  dbt docs → {target.resolve()}", context)
        return MaterializeResult(metadata={"path": MetadataValue.path(str(target.resolve()))})

    return dbt_docs


def build_quality_report_asset(checked_keys: list[AssetKey]):
    @asset(
        name="quality_report",
        automation_condition=REBUILD_WHEN_UPSTREAM_CHANGED,
        group_name=PUBLISH_GROUP,
        deps=checked_keys,
        kinds={"great_expectations", "html"},
        required_resource_keys={"workspace"},
        description=(
            "The data quality report: our offline summary of every GX validation with failing "
            "samples, plus the GX Data Docs site made readable offline."
        ),
    )
    def quality_report_asset(context: AssetExecutionContext) -> MaterializeResult:
        from orchestration.validation import build_data_docs

        workspace = context.resources.workspace
        docs = build_data_docs(workspace.root)
        report = quality_report.render(workspace.root, data_docs_index=docs)
        progress.emit(f"  quality report → {report.resolve()}", context)
        return MaterializeResult(
            metadata={
                "report": MetadataValue.path(str(report.resolve())),
                "data_docs": MetadataValue.path(str(docs)),
            }
        )

    return quality_report_asset


def build_cx_report_asset():
    @asset(
        name="cx_report",
        automation_condition=REBUILD_WHEN_UPSTREAM_CHANGED,
        group_name=PUBLISH_GROUP,
        deps=[AssetKey("bi_snapshot")],
        kinds={"plotly", "html"},
        required_resource_keys={"workspace"},
        description="The CX report: static HTML with Plotly charts, built from the BI snapshot.",
    )
    def cx_report(context: AssetExecutionContext) -> MaterializeResult:
        from cx360.report import build_report

        workspace = context.resources.workspace
        result = build_report(workspace.bi_dir, workspace.reports_dir / "cx" / "index.html")
        progress.emit(
            f"  CX report ({len(result.charts)} charts, {len(result.todos)} waiting for marts)"
            f" → {result.path.resolve()}",
            context,
        )
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(result.path.resolve())),
                "charts": MetadataValue.json(result.charts),
                "waiting_for_marts": MetadataValue.json(result.todos),
                "snapshot_version": result.snapshot_version or "",
            }
        )

    return cx_report


def build_defs(
    project: DbtProject | None, mart_nodes: list[dict], model_keys: list[AssetKey]
) -> Definitions:
    raw_keys = [
        AssetKey(raw_asset_path(source, stream))
        for source, streams in SOURCE_STREAMS.items()
        for stream in streams
    ]
    assets = [
        build_quality_report_asset([*raw_keys, *[AssetKey(n["_asset_key"]) for n in mart_nodes]])
    ]
    if project is not None:
        assets.append(build_dbt_docs_asset(project, model_keys))
    if mart_nodes:
        assets += [build_snapshot_asset(mart_nodes), build_cx_report_asset()]
    return Definitions(assets=assets)
