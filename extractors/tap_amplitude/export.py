"""Reading an Amplitude Export API answer without holding it in memory, and shaping events.

The answer is a ZIP of gzipped JSON-lines files, one per hour of `server_upload_time`,
named `<project>/<project>_<YYYY-MM-DD>_<H>#<part>.json.gz`. The ZIP is spooled to disk by
the caller; here each member is decompressed as a stream and split into lines, so memory
holds one chunk, whatever the export's size. Members are read in hour order (the names do
not sort as text: `_10#0` < `_2#0`).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
from cx360_singer import normalize_utc

CHUNK_BYTES = 1 << 20
TIME_FIELDS = (
    "event_time",
    "client_event_time",
    "client_upload_time",
    "server_received_time",
    "server_upload_time",
    "processed_time",
    "user_creation_time",
)


class ExportFileError(ValueError):
    """The export is not the ZIP of gzipped JSON lines Amplitude promises."""


_MEMBER = re.compile(r"_(\d{4}-\d{2}-\d{2})_(\d{1,2})#(\d+)\.json(?:\.gz)?$")


def _member_order(name: str) -> tuple[Any, ...]:
    found = _MEMBER.search(name)
    if found is None:
        return ("~", 0, 0, name)  # unknown names last, in name order
    day, hour, part = found.groups()
    return (day, int(hour), int(part), name)


def iter_export_lines(path: Path) -> Iterator[bytes]:
    """Every JSON line of every hourly file in the export ZIP at `path`, in hour order."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            (m.filename for m in archive.infolist() if not m.is_dir()), key=_member_order
        )
        for name in names:
            with archive.open(name) as member:
                if name.endswith(".gz"):
                    yield from _gunzip_lines(member)
                else:
                    yield from _lines(iter(lambda m=member: m.read(CHUNK_BYTES), b""))


def _gunzip_lines(member: Any) -> Iterator[bytes]:
    """Lines of a (possibly multi-member) gzip stream, decompressed chunk by chunk."""

    def chunks() -> Iterator[bytes]:
        inflater, started = zlib.decompressobj(wbits=31), False
        while raw := member.read(CHUNK_BYTES):
            while raw:
                started = True
                yield inflater.decompress(raw)
                raw = b""
                if inflater.eof:  # concatenated gzip members: start the next one
                    raw = inflater.unused_data
                    inflater, started = zlib.decompressobj(wbits=31), False
        yield inflater.flush()
        if started and not inflater.eof:
            raise ExportFileError("export member ends inside a gzip stream")

    yield from _lines(chunks())


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    tail = b""
    for chunk in chunks:
        if not chunk:
            continue
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line.strip():
                yield line
    if tail.strip():
        yield tail


def utc_text(value: Any) -> Any:
    """An Amplitude instant (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC) in cx360's UTC form."""
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}.000000Z"
    if value is None or value == "":
        return None
    return normalize_utc(value)


def event_shaper(
    properties: Iterable[str], hash_value: Callable[[Any], Any] | None
) -> Callable[[bytes], dict[str, Any]]:
    """A function turning one export line into the record cx360 emits.

    Keeps the schema's properties only (as RECORD mode's conformance does), rewrites the
    instants to UTC text, and with `hash_value` replaces `user_properties.email` and
    `ip_address` by their keyed hashes (PII must not leave the tap). This runs once per
    event, so the common case is kept cheap: no copy when every key is known, the usual
    time shape rewritten by slicing, and hashes memoised (the same users recur).
    """
    keys = tuple(properties)
    known = frozenset(keys)
    decode = msgspec.json.Decoder().decode
    hashed = lru_cache(maxsize=1 << 16)(hash_value) if hash_value is not None else None

    def shape(line: bytes) -> dict[str, Any]:
        event = decode(line)
        if not event.keys() <= known:
            event = {key: event[key] for key in keys if key in event}
        for name in TIME_FIELDS:
            value = event.get(name)
            if value.__class__ is str and len(value) == 26 and value[10] == " ":
                event[name] = f"{value[:10]}T{value[11:]}Z"
            elif value is not None:
                event[name] = utc_text(value)
        if hashed is not None:
            if event.get("ip_address") is not None:
                event["ip_address"] = hashed(event["ip_address"])
            user_properties = event.get("user_properties")
            if user_properties.__class__ is dict and user_properties.get("email") is not None:
                user_properties["email"] = hashed(user_properties["email"])
        return event

    return shape
