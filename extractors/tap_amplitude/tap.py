"""TapAmplitude: the Singer entry point (`tap-amplitude`)."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th

from .streams import DEFAULT_BASE_URL, DEFAULT_BATCH_SIZE_ROWS, MAX_WINDOW_HOURS, EventsStream


class TapAmplitude(Tap):
    """Amplitude Export API. Credentials: env `AMPLITUDE_API_KEY`, `AMPLITUDE_SECRET_KEY`
    (and `CX360_PII_SALT` while `hash_pii` is on); never config."""

    name = "tap-amplitude"

    config_jsonschema = th.PropertiesList(
        th.Property("base_url", th.StringType, default=DEFAULT_BASE_URL, description="API root."),
        th.Property(
            "start_date",
            th.DateTimeType,
            default="2023-01-01T00:00:00Z",
            description="Export events uploaded from this hour on (first run).",
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType,
            default=300,
            description="Total time one request may spend retrying 429/5xx/dropped answers.",
        ),
        th.Property(
            "window_hours",
            th.IntegerType,
            default=24,
            minimum=1,
            maximum=MAX_WINDOW_HOURS,
            description="Hours of upload time per export request where data is dense.",
        ),
        th.Property(
            "max_window_hours",
            th.IntegerType,
            default=MAX_WINDOW_HOURS,
            minimum=1,
            maximum=MAX_WINDOW_HOURS,
            description="Through sparse history a request window doubles up to this many "
            "hours (365 days, the API's limit); set it to window_hours for fixed windows.",
        ),
        th.Property(
            "batch_mode",
            th.BooleanType,
            default=True,
            description="Emit events as Singer BATCH messages (gzip JSONL files) instead of "
            "RECORD messages.",
        ),
        th.Property(
            "batch_dir",
            th.StringType,
            description="Directory for BATCH files (default: <tmp>/cx360-batches/tap-amplitude).",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=DEFAULT_BATCH_SIZE_ROWS,
            description="Events per BATCH file; STATE is emitted after each file.",
        ),
        th.Property(
            "batch_compresslevel",
            th.IntegerType,
            default=1,
            minimum=0,
            maximum=9,
            description="gzip level of BATCH files; 0 writes plain JSONL (BATCH "
            "compression 'none'; the runner uses 0: its files are read on the same host "
            "and deleted once loaded).",
        ),
        th.Property(
            "hash_pii",
            th.BooleanType,
            default=True,
            description="Replace user_properties.email and ip_address by HMAC-SHA256 keyed "
            "with env CX360_PII_SALT (in both RECORD and BATCH mode).",
        ),
    ).to_dict()

    def discover_streams(self) -> list:
        return [EventsStream(self)]


if __name__ == "__main__":
    TapAmplitude.cli()
