"""tap-salesforce entry point: config, discovery (describe) and the CLI."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th

from .client import (
    DEFAULT_LOGIN_URL,
    DEFAULT_START_DATE,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    SalesforceSession,
    SalesforceStream,
)
from .streams import STREAM_TYPES


class TapSalesforce(Tap):
    """Salesforce CRM objects via the REST API's SOQL `query`/`queryAll`.

    Credentials (OAuth2 refresh-token flow) come only from the environment:
    SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN.
    A spent daily API quota ends the run with an error after the last good STATE.
    """

    name = "tap-salesforce"
    dynamic_catalog = True  # schemas come from the org's describe, not from the package

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            default=DEFAULT_LOGIN_URL,
            description=(
                "Login URL (token endpoint root): https://login.salesforce.com, "
                "https://test.salesforce.com for sandboxes, or a My Domain URL. Data calls "
                "go to the instance_url the token response names."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            default=DEFAULT_START_DATE,
            description="Earliest SystemModstamp replicated on a first sync (not for users).",
        ),
        th.Property(
            "max_retry_seconds",
            th.IntegerType,
            default=300,
            description="Upper bound on the total time spent retrying one request.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=MAX_PAGE_SIZE,
            description=(
                f"SOQL batch size (Sforce-Query-Options), {MIN_PAGE_SIZE}-{MAX_PAGE_SIZE}."
            ),
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType,
            default=300,
            description=(
                "Re-read this many seconds before the bookmark, for rows whose "
                "SystemModstamp was committed late."
            ),
        ),
    ).to_dict()

    def discover_streams(self) -> list[SalesforceStream]:
        """One session (token, instance URL) shared by all streams of the run."""
        session = SalesforceSession()
        return [stream_type(self, session) for stream_type in STREAM_TYPES]


if __name__ == "__main__":
    TapSalesforce.cli()
