"""`tap-zendesk`: Zendesk Support → Singer, for the cx360 warehouse."""

from __future__ import annotations

from cx360_singer import DEFAULT_MAX_RETRY_SECONDS, pii_salt
from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_zendesk.client import CREDENTIAL_ENV, credentials
from tap_zendesk.streams import DEFAULT_BATCH_SIZE_ROWS, STREAM_TYPES


class TapZendesk(Tap):
    """Zendesk Support tap. Credentials come from the environment only
    (`ZENDESK_EMAIL`, `ZENDESK_API_TOKEN`; `CX360_PII_SALT` when `hash_comment_bodies`)."""

    name = "tap-zendesk"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            description=(
                "API root, e.g. https://acme.zendesk.com/api/v2. Default: "
                "https://{subdomain}.zendesk.com/api/v2."
            ),
        ),
        th.Property(
            "subdomain",
            th.StringType,
            description="Zendesk subdomain; optional when base_url is given.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            default="2023-01-01T00:00:00Z",
            description=(
                "First sync starts here for tickets, ticket_events and satisfaction_ratings. "
                "users and organizations always start from the beginning (tickets in range "
                "reference them); later syncs start at each stream's bookmark."
            ),
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType,
            default=DEFAULT_MAX_RETRY_SECONDS,
            description="Total seconds a request may spend waiting between retries.",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=120,
            description="Seconds one request may take before it is retried.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=100,
            description="page[size] of cursor-paginated lists (max 100).",
        ),
        th.Property(
            "export_page_size",
            th.IntegerType,
            default=1000,
            description="per_page of incremental exports (max 1000).",
        ),
        th.Property(
            "batch_mode",
            th.BooleanType,
            default=True,
            description=(
                "tickets, users, ticket_metrics, satisfaction_ratings and ticket_events as "
                "Singer BATCH messages "
                "(gzip JSONL files) instead of RECORD messages."
            ),
        ),
        th.Property(
            "batch_dir",
            th.StringType,
            description="Directory for BATCH files (default: <tmp>/cx360-batches/tap-zendesk).",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=DEFAULT_BATCH_SIZE_ROWS,
            description="Rows per BATCH file; STATE is emitted after each file.",
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
            "hash_comment_bodies",
            th.BooleanType,
            default=False,
            description=(
                "Replace comment texts (ticket_events comment bodies, tickets "
                "description) with a salted hash (salt from env CX360_PII_SALT)."
            ),
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    def sync_all(self) -> None:
        """Fail before any output when credentials are missing, naming all of them."""
        credentials()
        hashing = [self.streams.get(name) for name in ("tickets", "ticket_events")]
        if self.config.get("hash_comment_bodies") and any(s and s.selected for s in hashing):
            pii_salt()
        super().sync_all()


__all__ = ["CREDENTIAL_ENV", "TapZendesk"]

if __name__ == "__main__":
    TapZendesk.cli()
