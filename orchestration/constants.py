"""Names and paths shared by the orchestration code (no Dagster imports here)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
GX_DIR = REPO_ROOT / "expectations" / "gx"

DEFAULT_DATA_DIR = Path(".cx360")
"""Relative to the working directory, like the CLI's defaults."""

WAREHOUSE_POOL = "duckdb"
"""DuckDB is single-writer: every asset and check touching the warehouse takes this pool."""

SOURCE_STREAMS: dict[str, tuple[str, ...]] = {
    "salesforce": ("accounts", "contacts", "opportunities", "users", "opportunity_contact_roles"),
    "zendesk": (
        "tickets",
        "users",
        "organizations",
        "groups",
        "ticket_metrics",
        "satisfaction_ratings",
        "ticket_events",
    ),
    "qualtrics": ("surveys", "survey_responses", "distributions"),
    "delighted": ("survey_responses", "people"),
    "amplitude": ("events",),
}
"""Every stream of every tap; one Dagster asset each, keyed ``raw_<source>/<stream>``."""


def raw_schema(source: str) -> str:
    return f"raw_{source}"


def raw_asset_path(source: str, stream: str) -> list[str]:
    """The asset key path of a raw table, identical to its DuckDB ``schema.table``."""
    return [raw_schema(source), stream]


def api_asset_path(source: str) -> list[str]:
    return ["source_api", source]
