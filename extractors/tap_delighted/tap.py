"""TapDelighted: the Singer entry point (`tap-delighted`)."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th

from .client import DEFAULT_BASE_URL
from .streams import PeopleStream, SurveyResponsesStream


class TapDelighted(Tap):
    """Delighted API v1. Credentials: env `DELIGHTED_API_KEY` only (never config)."""

    name = "tap-delighted"

    config_jsonschema = th.PropertiesList(
        th.Property("base_url", th.StringType, default=DEFAULT_BASE_URL, description="API root."),
        th.Property(
            "start_date",
            th.DateTimeType,
            default="2023-01-01T00:00:00Z",
            description="Read responses updated from this instant on (first run).",
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType,
            default=300,
            description="Total time one request may spend retrying 429/5xx/dropped answers.",
        ),
        th.Property(
            "page_size", th.IntegerType, default=100, description="`per_page` (at most 100)."
        ),
    ).to_dict()

    def discover_streams(self) -> list:
        return [SurveyResponsesStream(self), PeopleStream(self)]


if __name__ == "__main__":
    TapDelighted.cli()
