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
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from cx360_singer.pii import hash_fields

JSONL_GZIP_ENCODING = {"format": "jsonl", "compression": "gzip"}
CHUNK_ROWS = 2048
"""Rows encoded and compressed together: one msgspec call and one zlib call per chunk
instead of one each per row (writing row by row halved the writer's speed)."""
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # keep money digits exact

Row = Mapping[str, Any] | bytes | str


def batch_message(
    stream: str, manifest: Iterable[str], compression: str = "gzip"
) -> dict[str, Any]:
    """The singer-sdk BATCH message (as a dict) for JSONL files (gzip by default)."""
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": "jsonl", "compression": compression},
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
    """Writes rows to ``<directory>/<stream>-<run>-<n>.jsonl.gz`` files (``.jsonl``,
    uncompressed, with ``compresslevel=0``: see :attr:`compression`).

    Rows may be dicts (encoded with msgspec; Decimal stays a JSON number) or already
    encoded JSON lines (bytes/str, trailing newline optional). With ``pii_fields`` every
    row is hashed before writing; encoded lines are decoded for that, so pass dicts when
    hashing is on if speed matters.

    Rows are encoded ``CHUNK_ROWS`` at a time and each chunk is compressed on a worker
    thread (zlib releases the GIL) while the caller produces the next one. Level 1 by
    default: the files are a local hand-off to the loader, deleted once it committed
    them, so compression ratio buys little and costs a core.
    """

    def __init__(
        self,
        directory: str | Path,
        stream_name: str,
        *,
        pii_fields: Iterable[str] = (),
        salt: str | None = None,
        rows_per_file: int = 100_000,
        compresslevel: int = 1,
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

    @property
    def compression(self) -> str:
        """The BATCH encoding's compression: "gzip", or "none" at level 0 — a gzip
        stream at level 0 would only add a copy and a checksum per byte (for a same-host
        hand-off deleted once loaded, like `cx360 extract`'s, that is all it would do),
        and DuckDB reads a plain file in parallel."""
        return "gzip" if self.compresslevel > 0 else "none"

    def write(self, rows: Iterable[Row]) -> tuple[str, int]:
        """Write one file with all of ``rows``; return (file URI, row count).

        ``rows`` is consumed lazily, so an ``islice`` pulls exactly the rows in the file.
        """
        with self.open_file() as batch_file:
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, CHUNK_ROWS)):
                batch_file.add(chunk)
        return batch_file.uri, batch_file.count

    def open_file(self) -> BatchFile:
        """A new file to fill with :meth:`BatchFile.add` (for producers that have rows in
        lists already); closing it (or leaving its ``with`` block) completes it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        suffix = ".jsonl.gz" if self.compression == "gzip" else ".jsonl"
        path = self.directory / (
            f"{self.stream_name}-{self._run}-{len(self.files_written) + 1:05d}{suffix}"
        )
        self.files_written.append(path)
        return BatchFile(self, path)

    def write_batch(self, rows: Iterable[Row]) -> dict[str, Any]:
        """Write one file and return its BATCH message."""
        uri, _ = self.write(rows)
        return batch_message(self.stream_name, [uri], self.compression)

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

    def _encode_chunk(self, rows: list[Row]) -> bytes:
        if not self.pii_fields and all(isinstance(row, _OBJECTS) for row in rows):
            return _ENCODER.encode_lines(rows)
        return b"".join([self._encode(row) for row in rows])

    def _encode(self, row: Row) -> bytes:
        if isinstance(row, msgspec.Struct):
            if not self.pii_fields:
                return _ENCODER.encode(row) + b"\n"
            row = _DECODER.decode(_ENCODER.encode(row))
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


class BatchFile:
    """One JSONL file being written: rows are encoded by the caller's thread; a gzip file
    is compressed and written on a worker thread (zlib releases the GIL), one chunk in
    flight, so encoding the next chunk overlaps compressing this one."""

    def __init__(self, writer: GzipJsonlBatchWriter, path: Path) -> None:
        self.writer = writer
        self.path = path
        self.count = 0
        self._handle: Any
        self._compressor: ThreadPoolExecutor | None = None
        if writer.compression == "gzip":
            self._handle = gzip.GzipFile(path, "wb", compresslevel=writer.compresslevel, mtime=0)
            self._compressor = ThreadPoolExecutor(1, thread_name_prefix="batch-gzip")
        else:  # plain writes: a thread would cost more in GIL hand-offs than it saves
            self._handle = path.open("wb", buffering=1 << 20)
        self._pending: Future[Any] | None = None

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    def add(self, rows: list[Row]) -> None:
        """Append ``rows`` (any mix the writer accepts) to the file."""
        if not rows:
            return
        data = self.writer._encode_chunk(rows)
        self.count += len(rows)
        if self._compressor is None:
            self._handle.write(data)
            return
        self._wait()
        self._pending = self._compressor.submit(self._handle.write, data)

    def close(self) -> tuple[str, int]:
        """Finish the file; return (file URI, row count)."""
        try:
            self._wait()
        finally:
            if self._compressor is not None:
                self._compressor.shutdown(wait=True)
            self._handle.close()
        return self.uri, self.count

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> BatchFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OBJECTS = (dict, msgspec.Struct)
_END = object()
