"""Jobs, schedules and the rebuild sensor.

* ``cx360_main`` — everything: extract every stream, GX gates, dbt build, publish (the one
  command, :func:`orchestration.jobs.run_main_job`, runs it in-process).
* ``cx360_hourly`` — incremental extract + build + snapshot + reports, business hours on
  weekdays (``CX360_TIMEZONE``, default UTC).
* ``cx360_nightly`` — the full build: everything with ``dbt build --full-refresh``, docs too.
* ``cx360_weekly_reconcile`` — extract with a full-table reconciliation of ids (soft-deletes
  keys the APIs no longer return: catches hard deletes), then build and publish.
* ``cx360_build`` — the raw quality gates, dbt and publishing, without extracting.
* ``cx360_automation`` (declarative automation sensor) — dbt models and the publishing assets
  carry ``eager() & all_deps_blocking_checks_passed()``, the raw GX checks ``eager()``: when
  raw tables change outside the scheduled jobs, the gates and the rebuild run together, and a
  failed gate still stops the marts.

Every job runs in one process (in-process executor, set on the Definitions): a step of the
multiprocess executor pays seconds of imports (dagster + GX) each. Run retries for crashed
runs are configured in ``dagster.yaml``; step retries for transient API failures on the
extract assets.
"""

import os

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

from orchestration.constants import SOURCE_STREAMS, raw_asset_path

BUILDS_MARTS_TAG = "cx360/builds_marts"
RAW = AssetSelection.groups("raw")
API = AssetSelection.groups("source_apis")


def _tags(kind: str) -> dict[str, str]:
    return {BUILDS_MARTS_TAG: "true", "cx360/job": kind}


def extract_ops_config(reconcile: bool) -> dict:
    return {
        f"extract_{source}": {"config": {"reconcile_deletes": reconcile}}
        for source in SOURCE_STREAMS
    }


def build_jobs(has_dbt: bool):
    everything = AssetSelection.all() - API
    without_docs = everything - AssetSelection.assets("dbt_docs") if has_dbt else everything
    raw_keys = [
        AssetKey(raw_asset_path(source, stream))
        for source, streams in SOURCE_STREAMS.items()
        for stream in streams
    ]
    build_only = (everything - RAW) | AssetSelection.checks_for_assets(*raw_keys)
    dbt_config = {"dbt_models": {"config": {"full_refresh": True}}} if has_dbt else {}
    return {
        "main": define_asset_job(
            "cx360_main",
            selection=everything,
            tags=_tags("main"),
            description="Extract every source, quality gates, dbt build, publish (the one command).",
        ),
        "hourly": define_asset_job(
            "cx360_hourly",
            selection=without_docs,
            tags=_tags("hourly"),
            description="Incremental extract + build + snapshot + reports.",
        ),
        "nightly": define_asset_job(
            "cx360_nightly",
            selection=everything,
            tags=_tags("nightly"),
            config={"ops": {**dbt_config}} if dbt_config else None,
            description="The full build: dbt build --full-refresh, docs, reports.",
        ),
        "reconcile": define_asset_job(
            "cx360_weekly_reconcile",
            selection=everything,
            tags=_tags("reconcile"),
            config={"ops": extract_ops_config(True)},
            description="Extract with full-table reconciliation of ids (hard deletes), then build.",
        ),
        "build": define_asset_job(
            "cx360_build",
            selection=build_only,
            tags=_tags("build"),
            description="Raw quality gates, dbt build and publishing, without extracting.",
        ),
    }


def build_automation_sensor() -> AutomationConditionSensorDefinition:
    """Evaluates the automation conditions: marts (and publishing) rebuild when their upstream
    changed and every blocking check upstream passed or runs in the same run."""
    return AutomationConditionSensorDefinition(
        "cx360_automation",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        run_tags={BUILDS_MARTS_TAG: "true", "cx360/trigger": "automation"},
        description=(
            "Declarative automation: when raw tables change outside the scheduled jobs (e.g. "
            "one stream re-extracted from the UI), their quality gates, dbt models and the "
            "publishing assets run, gated by the blocking checks."
        ),
    )


def build_defs(has_dbt: bool) -> Definitions:
    jobs = build_jobs(has_dbt)
    timezone = os.environ.get("CX360_TIMEZONE", "UTC")
    schedules = [
        ScheduleDefinition(
            name="hourly_business_hours",
            job=jobs["hourly"],
            cron_schedule="0 8-18 * * 1-5",
            execution_timezone=timezone,
            default_status=DefaultScheduleStatus.STOPPED,
            description="Incremental extract + build every hour, 08:00-18:00 on weekdays.",
        ),
        ScheduleDefinition(
            name="nightly_full_build",
            job=jobs["nightly"],
            cron_schedule="0 2 * * *",
            execution_timezone=timezone,
            default_status=DefaultScheduleStatus.STOPPED,
            description="Full build at 02:00 every night.",
        ),
        ScheduleDefinition(
            name="weekly_reconcile_ids",
            job=jobs["reconcile"],
            cron_schedule="0 4 * * 0",
            execution_timezone=timezone,
            default_status=DefaultScheduleStatus.STOPPED,
            description="Full-table reconciliation of ids (hard deletes) at 04:00 on Sundays.",
        ),
    ]
    return Definitions(
        jobs=list(jobs.values()), schedules=schedules, sensors=[build_automation_sensor()]
    )
