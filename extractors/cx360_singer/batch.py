"""Write high-volume streams as gzip JSONL files and announce them with Singer BATCH.

Why: for streams of millions of rows (Amplitude events, Zendesk ticket events) a BATCH
message per file lets target_cx360_duckdb hand the files straight to DuckDB ``read_json``
instead of parsing one RECORD message per row. The files live in a local directory
(``file://`` URIs): tap and loader run on the same host.

PII: singer-sdk does not apply stream maps to batch files, so the writer hashes the
configured ``pii_fields`` itself (see :mod:`cx360_singer.pii`).
"""

from __future__ import annotations

import gzip
import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from cx360_singer.pii import hash_fields

JSONL_GZIP_ENCODING = {"format": "jsonl", "compression": "gzip"}
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # keep money digits exact

Row = Mapping[str, Any] | bytes | str


def batch_message(stream: str, manifest: Iterable[str]) -> dict[str, Any]:
    """The singer-sdk BATCH message (as a dict) for gzip JSONL files."""
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": dict(JSONL_GZIP_ENCODING),
        "manifest": list(manifest),
    }


def sdk_batch_message(stream: str, manifest: Iterable[str]) -> Any:
    """The same as a singer-sdk message object, for ``tap.write_message``."""
    from singer_sdk.helpers._batch import (  # private API: import lazily
        BaseBatchFileEncoding,
        SDKBatchMessage,
    )

    return SDKBatchMessage(
        stream=stream,
        encoding=BaseBatchFileEncoding(format="jsonl", compression="gzip"),
        manifest=list(manifest),
    )


class GzipJsonlBatchWriter:
    """Writes rows to ``<directory>/<stream>-<run>-<n>.jsonl.gz`` files.

    Rows may be dicts (encoded with msgspec; Decimal stays a JSON number) or already
    encoded JSON lines (bytes/str, trailing newline optional). With ``pii_fields`` every
    row is hashed before writing; encoded lines are decoded for that, so pass dicts when
    hashing is on if speed matters.
    """

    def __init__(
        self,
        directory: str | Path,
        stream_name: str,
        *,
        pii_fields: Iterable[str] = (),
        salt: str | None = None,
        rows_per_file: int = 100_000,
        compresslevel: int = 6,
    ) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.stream_name = stream_name
        self.pii_fields = tuple(pii_fields)
        if self.pii_fields and not salt:
            raise ValueError(
                f"{stream_name}: pii_fields {list(self.pii_fields)} need a salt "
                "(cx360_singer.pii_salt() reads CX360_PII_SALT)"
            )
        self.salt = salt or ""
        self.rows_per_file = rows_per_file
        self.compresslevel = compresslevel
        self.files_written: list[Path] = []
        self._run = uuid.uuid4().hex[:12]

    def write(self, rows: Iterable[Row]) -> tuple[str, int]:
        """Write one file with all of ``rows``; return (file URI, row count).

        ``rows`` is consumed lazily, so an ``islice`` pulls exactly the rows in the file.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / (
            f"{self.stream_name}-{self._run}-{len(self.files_written) + 1:05d}.jsonl.gz"
        )
        count = 0
        with gzip.open(path, "wb", compresslevel=self.compresslevel) as handle:
            for row in rows:
                handle.write(self._encode(row))
                count += 1
        self.files_written.append(path)
        return path.as_uri(), count

    def write_batch(self, rows: Iterable[Row]) -> dict[str, Any]:
        """Write one file and return its BATCH message."""
        uri, _ = self.write(rows)
        return batch_message(self.stream_name, [uri])

    def batches(self, rows: Iterable[Row]) -> Iterator[dict[str, Any]]:
        """Split ``rows`` into files of ``rows_per_file`` and yield a BATCH message each.

        Emit each message (and then any STATE covering its rows) before pulling the next:
        the loader commits a BATCH as soon as it arrives.
        """
        iterator = iter(rows)
        while True:
            first = next(iterator, _END)
            if first is _END:
                return
            chunk = itertools.chain([first], itertools.islice(iterator, self.rows_per_file - 1))
            yield self.write_batch(chunk)  # type: ignore[arg-type]

    def cleanup(self) -> None:
        """Delete the files written so far (call once the loader has committed them)."""
        for path in self.files_written:
            path.unlink(missing_ok=True)
        self.files_written.clear()

    def _encode(self, row: Row) -> bytes:
        if isinstance(row, Mapping):
            if self.pii_fields:
                row = hash_fields(row, self.pii_fields, self.salt)
            return _ENCODER.encode(row) + b"\n"
        data = row.encode() if isinstance(row, str) else bytes(row)
        if self.pii_fields:
            decoded = _DECODER.decode(data)
            if not isinstance(decoded, dict):
                raise ValueError(f"{self.stream_name}: batch rows must be JSON objects")
            return _ENCODER.encode(hash_fields(decoded, self.pii_fields, self.salt)) + b"\n"
        data = data.rstrip(b"\r\n")
        return data + b"\n"


_END = object()
