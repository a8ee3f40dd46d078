"""Great Expectations validations as Dagster asset checks (one check per suite).

Checks on raw tables are **blocking**: when one fails with ERROR severity, Dagster does not run
anything downstream of that table in the same run, so dbt does not rebuild the marts from bad
data and the publishing assets (BI snapshot, reports) keep the last good versions. Mart checks
are blocking too, so a bad mart is never published. Expectations authored with severity
``warning`` (e.g. cross-source coverage, which is dirty by nature) report WARN and do not block.
"""

from collections import defaultdict
from collections.abc import Iterable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AutomationCondition,
    Definitions,
    MetadataValue,
    multi_asset_check,
)

from orchestration import progress, quality_report
from orchestration.constants import WAREHOUSE_POOL
from orchestration.validation import SuiteSpec, TableValidation, load_suite_specs, validate

GX_CHECK_NAME = "great_expectations"


def _markdown(outcome: TableValidation) -> str:
    lines = []
    if outcome.error:
        lines.append(f"**{outcome.error}**")
    for failed in outcome.failed:
        lines.append(f"- **{failed.severity}** {failed.describe()}")
        if failed.sample_rows:
            columns = list(failed.sample_rows[0])[:8]
            lines.append("")
            lines.append("  | " + " | ".join(columns) + " |")
            lines.append("  |" + "---|" * len(columns))
            for row in failed.sample_rows[:5]:
                cells = [str(row.get(c))[:40].replace("|", "/") for c in columns]
                lines.append("  | " + " | ".join(cells) + " |")
    return "\n".join(lines) or "all expectations passed"


def _check_name(group: str) -> str:
    return "gx_" + group.replace("-", "_")


def build_gx_checks(specs: Iterable[SuiteSpec], known_keys: set[AssetKey]):
    groups: dict[str, list[SuiteSpec]] = defaultdict(list)
    for spec in specs:
        if AssetKey(list(spec.asset_key)) not in known_keys:
            continue
        groups[spec.asset_key[0] if spec.layer == "raw" else "marts"].append(spec)
    checks = []
    for group, members in sorted(groups.items()):
        checks.append(_gx_check(group, members, known_keys))
    return checks


def _gx_check(group: str, specs: list[SuiteSpec], known_keys: set[AssetKey]):
    by_key = {AssetKey(list(spec.asset_key)): spec for spec in specs}
    check_specs = []
    for key, spec in by_key.items():
        references = [AssetKey(list(ref)) for ref in spec.references]
        check_specs.append(
            AssetCheckSpec(
                GX_CHECK_NAME,
                asset=key,
                blocking=spec.blocking,
                additional_deps=[ref for ref in references if ref != key and ref in known_keys],
                description=(
                    f"Great Expectations suite `{spec.name}` ({spec.expectations} expectations) "
                    f"on `{spec.table}`{' — blocking' if spec.blocking else ''}. "
                    + spec.description
                ).strip(),
                metadata={"suite": spec.name, "table": spec.table},
                automation_condition=AutomationCondition.eager(),
            )
        )

    @multi_asset_check(
        name=_check_name(group),
        specs=check_specs,
        can_subset=True,
        pool=WAREHOUSE_POOL,
        required_resource_keys={"warehouse", "workspace"},
        description=f"Great Expectations validations of {group}.",
        op_tags={"cx360/step": "quality"},
    )
    def _check(context: AssetCheckExecutionContext):
        workspace = context.resources.workspace
        now = workspace.reference_now()
        selected = [key for key in context.selected_asset_check_keys]
        with context.resources.warehouse.connect() as con:
            for check_key in selected:
                spec = by_key[check_key.asset_key]
                outcome = validate(con, spec, data_dir=workspace.root, now=now)
                progress.emit(f"    quality {outcome.summary()}", context)
                severity = (
                    AssetCheckSeverity.ERROR if outcome.blocking_failed else AssetCheckSeverity.WARN
                )
                yield AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=check_key.name,
                    passed=outcome.success,
                    severity=severity,
                    metadata={
                        "suite": spec.name,
                        "rows_validated": outcome.rows,
                        "expectations": len(outcome.expectations),
                        "failed_expectations": len(outcome.failed),
                        "reference_now": outcome.reference_now,
                        "failures": MetadataValue.md(_markdown(outcome)),
                    },
                )
        report = quality_report.render(workspace.root)
        context.log.info(f"quality report: {report.resolve()}")

    return _check


def build_defs(known_keys: set[AssetKey], specs: list[SuiteSpec] | None = None) -> Definitions:
    specs = load_suite_specs() if specs is None else specs
    return Definitions(asset_checks=build_gx_checks(specs, known_keys))
