"""The shared-kit pieces this tap uses, in one place.

Why: the shared kit (`cx360_singer`) was written at the same time as this tap. The rest of
the tap imports kit helpers from *here only*; what the kit already provides is re-exported,
and the stand-ins below (PII hashing, gzip-JSONL batch writer) keep the kit's announced
signatures, so adopting the kit's versions is one import line each.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cx360_singer.env import MissingCredentialsError, require_env
from cx360_singer.redact import endpoint, redact
from cx360_singer.timeutil import normalize_utc, parse_retry_after, to_epoch
from singer_sdk.singerlib.json import serialize_json

__all__ = [
    "GzipJsonlBatchWriter",
    "MissingCredentialsError",
    "endpoint",
    "hash_pii",
    "normalize_utc",
    "parse_retry_after",
    "pii_salt",
    "redact",
    "require_env",
    "to_epoch",
]

PII_SALT_ENV = "CX360_PII_SALT"


def pii_salt() -> str:
    """The PII hashing salt from `CX360_PII_SALT` (required when hashing is on)."""
    return require_env([PII_SALT_ENV], "PII hashing")[PII_SALT_ENV]


def hash_pii(value: str | None, salt: str) -> str | None:
    """Keyed hash of a PII value: stable across runs (joinable), not reversible
    without the salt (a plain hash of short texts is dictionary-attackable)."""
    if value is None:
        return None
    digest = hmac.new(salt.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"sha256:{digest}"


class GzipJsonlBatchWriter:
    """Writes records as gzip JSONL files and returns `file://` manifest URIs.

    Why local files: the cx360 loader reads BATCH manifests from the local filesystem
    only (`file://`), and the tap and loader run on the same host.
    """

    def __init__(self, directory: str | Path, stream_name: str) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.stream_name = stream_name
        self._run = uuid.uuid4().hex[:12]
        self._count = 0

    def write(self, records: Iterable[Mapping[str, Any]]) -> tuple[str, int]:
        """Write one file; returns (file URI, rows written). Consumes `records` lazily,
        so a caller passing an `islice` pulls exactly the rows that land in the file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self.directory / f"{self.stream_name}-{self._run}-{self._count:05d}.jsonl.gz"
        rows = 0
        with gzip.open(path, "wb") as handle:
            for record in records:
                handle.write((serialize_json(record) + "\n").encode())
                rows += 1
        return path.as_uri(), rows
