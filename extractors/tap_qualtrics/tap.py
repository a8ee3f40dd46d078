"""TapQualtrics: the Singer entry point (`tap-qualtrics`)."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th

from .client import DEFAULT_BASE_URL, TOKEN_ENV
from .streams import DistributionsStream, SurveyResponsesStream, SurveysStream


class TapQualtrics(Tap):
    """Qualtrics API v3. Credentials: env `QUALTRICS_API_TOKEN` only (never config)."""

    name = "tap-qualtrics"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            default=DEFAULT_BASE_URL,
            description="API root; `{datacenter}` is filled from `datacenter`.",
        ),
        th.Property("datacenter", th.StringType, description="Data centre id, e.g. 'iad1'."),
        th.Property(
            "start_date",
            th.DateTimeType,
            default="2023-01-01T00:00:00Z",
            description="Export responses recorded from this instant on (first run).",
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType,
            default=300,
            description="Total time one request may spend retrying 429/5xx/dropped answers.",
        ),
        th.Property(
            "export_poll_seconds",
            th.NumberType,
            default=2.0,
            description="Longest pause between polls of a running response export (polls "
            "start at 0.25 s and back off to this).",
        ),
        th.Property(
            "export_timeout_seconds",
            th.NumberType,
            default=3600,
            description="Longest wait for one export to complete before giving up.",
        ),
        th.Property(
            "export_max_attempts",
            th.IntegerType,
            default=3,
            description="Exports Qualtrics reports as failed are restarted up to this often.",
        ),
    ).to_dict()

    def discover_streams(self) -> list:
        return [SurveysStream(self), SurveyResponsesStream(self), DistributionsStream(self)]


__all__ = ["TOKEN_ENV", "TapQualtrics"]

if __name__ == "__main__":
    TapQualtrics.cli()
