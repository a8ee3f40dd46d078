"""cx360_singer: behaviour shared by the five cx360 taps, written once.

* :mod:`~cx360_singer.rest` — ``CX360RESTStream`` / ``RetryingStream`` mixin: bounded,
  ``Retry-After``-aware retries, 401 → ``refresh_auth()``, JSON validation, safe errors.
* :mod:`~cx360_singer.timeutil` — ``normalize_utc`` (one bookmark format), ``to_epoch``,
  ``parse_retry_after``, ``server_now``.
* :mod:`~cx360_singer.batch` — ``GzipJsonlBatchWriter`` and ``batch_message`` for Singer
  BATCH files.
* :mod:`~cx360_singer.pii` — ``hash_pii`` / ``hash_fields`` keyed by ``CX360_PII_SALT``.
* :mod:`~cx360_singer.env` — ``require_env`` (one error listing every missing variable).
* :mod:`~cx360_singer.redact` — ``redact`` / ``endpoint`` for secret-free logs.
"""

from cx360_singer.batch import (
    JSONL_GZIP_ENCODING,
    BatchFile,
    GzipJsonlBatchWriter,
    batch_message,
    sdk_batch_message,
)
from cx360_singer.env import MissingCredentialsError, require_env
from cx360_singer.pii import PII_SALT_ENV, hash_fields, hash_pii, pii_salt
from cx360_singer.redact import endpoint, install_log_redaction, redact
from cx360_singer.rest import (
    DEFAULT_MAX_RETRY_SECONDS,
    RETRIABLE_EXCEPTIONS,
    AuthenticationError,
    AuthExpiredError,
    CX360RESTStream,
    RetryBudgetExceededError,
    RetryingStream,
    default_retry_wait,
    response_json,
    run_with_retries,
    send_with_retries,
    validate_status,
)
from cx360_singer.timeutil import (
    UTC_FORMAT,
    normalize_utc,
    parse_instant,
    parse_retry_after,
    server_now,
    to_epoch,
)

__all__ = [
    "DEFAULT_MAX_RETRY_SECONDS",
    "JSONL_GZIP_ENCODING",
    "PII_SALT_ENV",
    "RETRIABLE_EXCEPTIONS",
    "UTC_FORMAT",
    "AuthExpiredError",
    "AuthenticationError",
    "BatchFile",
    "CX360RESTStream",
    "GzipJsonlBatchWriter",
    "MissingCredentialsError",
    "RetryBudgetExceededError",
    "RetryingStream",
    "batch_message",
    "default_retry_wait",
    "endpoint",
    "hash_fields",
    "hash_pii",
    "install_log_redaction",
    "normalize_utc",
    "parse_instant",
    "parse_retry_after",
    "pii_salt",
    "redact",
    "require_env",
    "response_json",
    "run_with_retries",
    "sdk_batch_message",
    "send_with_retries",
    "server_now",
    "to_epoch",
    "validate_status",
]
