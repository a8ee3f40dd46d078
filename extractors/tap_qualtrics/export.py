"""Reading a Qualtrics response-export file without loading it whole.

An export is one JSON document, ``{"responses": [ {...}, {...}, ... ]}``, inside a zip (or
bare when ``compress`` is false). Big surveys produce exports of hundreds of megabytes, so the
file is downloaded to disk and its ``responses`` array is decoded one element at a time from
the (decompressing) member stream: memory holds one chunk plus one response, never the file.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

CHUNK_CHARS = 1 << 20
MAX_ELEMENT_CHARS = 64 << 20
"""A single response bigger than this means the file is broken, not that it is big."""
_WHITESPACE_OR_COMMA = " \t\r\n,"


class ExportFileError(ValueError):
    """The export file is not the document Qualtrics promises (bad zip, bad JSON)."""


def iter_export_file(path: Path, array_key: str = "responses") -> Iterator[dict[str, Any]]:
    """Yield the elements of ``array_key`` from an export file, zipped or bare JSON."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                names = [m.filename for m in members]
                raise ExportFileError(f"expected one file in the export zip, found {names}")
            with archive.open(members[0]) as member:
                yield from iter_json_array(member, array_key)
    else:
        with path.open("rb") as handle:
            yield from iter_json_array(handle, array_key)


def iter_json_array(
    binary: IO[bytes], array_key: str, chunk_chars: int = CHUNK_CHARS
) -> Iterator[dict[str, Any]]:
    """Yield each element of the array under top-level ``array_key``, decoding incrementally.

    ``json.JSONDecoder.raw_decode`` parses one element from a text buffer; when the buffer
    ends inside an element it fails, and we read more and try again. Elements are objects,
    so a buffer cut inside one can never parse as a (shorter) complete value.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buffer = ""
    eof = False

    def read_more() -> bool:
        nonlocal buffer, eof
        if eof:
            return False
        raw = binary.read(chunk_chars)
        try:
            buffer += utf8.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            raise ExportFileError(f"export file is not valid UTF-8: {error}") from None
        eof = not raw
        return not eof

    opening = re.compile(r'(?<!\\)"' + re.escape(array_key) + r'"\s*:\s*\[')
    while (found := opening.search(buffer)) is None:
        if not read_more():
            raise ExportFileError(f"export file has no {array_key!r} array")
    pos = found.end()
    while True:
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE_OR_COMMA:
                pos += 1
            if pos < len(buffer) or not read_more():
                break
        if pos >= len(buffer):
            raise ExportFileError(f"export file ends inside the {array_key!r} array")
        if buffer[pos] == "]":
            return
        try:
            element, end = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError as error:
            if len(buffer) - pos <= MAX_ELEMENT_CHARS and read_more():
                continue
            raise ExportFileError(f"export file is not valid JSON: {error}") from None
        if not isinstance(element, dict):
            raise ExportFileError(f"{array_key!r} holds a {type(element).__name__}, not objects")
        yield element
        pos = end
        if pos > chunk_chars:  # drop what was consumed, keeping the buffer one chunk-ish
            buffer, pos = buffer[pos:], 0
