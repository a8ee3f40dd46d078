"""Delighted API v1 base stream: HTTP Basic with the API key, bare JSON-array answers.

Records go out as singer-sdk RECORD messages, the same as singer-sdk writes them, with
the per-record work cut down (a large sync is hundreds of thousands of records, 100 per
request):

* pages are parsed with msgspec (`_prime_json`), into the same values as `json.loads`;
* type conformance is `compile_conformer(schema)`: singer-sdk's recursive conformance,
  decided once per schema instead of once per value, and the deselection pass is skipped
  when every property is selected (it would remove nothing);
* a RECORD line is encoded by the standard library's C encoder when that gives singer-sdk's
  bytes (`encode_message`), and stdout is flushed once a page (before the next request)
  rather than once a record.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import requests
import singer_sdk.singerlib as singer
from cx360_singer import CX360RESTStream, require_env
from cx360_singer.rest import _JSON_ATTR
from requests.auth import HTTPBasicAuth
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import (
    _conform_primitive_property,
    _is_exclusive_boolean_type,
    _warn_unmapped_properties,
    is_object_type,
    is_uniform_list,
)
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.singerlib.encoding import SimpleSingerWriter
from singer_sdk.singerlib.json import serialize_json

DEFAULT_BASE_URL = "https://api.delighted.com/v1"
KEY_ENV = "DELIGHTED_API_KEY"

_PAGE_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def _prime_json(response: requests.Response) -> None:
    """Parse the body with msgspec into the kit's cache (`response_json` reuses it): the
    same values as `json.loads(parse_float=Decimal)`, in a fraction of the time. A body
    msgspec rejects (NaN, lone surrogates) is left to the kit, which parses or rejects it
    as before."""
    if getattr(response, _JSON_ATTR, None) is not None:
        return
    try:
        setattr(response, _JSON_ATTR, _PAGE_DECODER.decode(response.content))
    except (msgspec.DecodeError, TypeError):
        return


# -- RECORD lines ---------------------------------------------------------------------------
def _datetime_only(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep="T")  # as singer-sdk's encoder writes `time_extracted`
    raise TypeError(f"{type(value).__name__} is left to singer-sdk's encoder")


_LINE_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_datetime_only)


def encode_message(message: dict[str, Any]) -> str:
    """singer-sdk's `serialize_json(message)` (simplejson: ASCII-escaped, compact, Decimal
    as a number, NaN as null, other objects by `str`), byte for byte. For what JSON
    decoding yields (dicts, lists, str, int, bool, None) and datetimes, the standard
    library's encoder writes the same bytes, faster; anything else it refuses (Decimal,
    NaN, bytes, ...) goes to `serialize_json` itself."""
    try:
        return _LINE_ENCODER.encode(message)
    except (TypeError, ValueError):
        return serialize_json(message)


# -- type conformance -----------------------------------------------------------------------
Conform = Callable[[dict[str, Any], str | None, list[str]], dict[str, Any]]
"""(object, its path or None at the root, unmapped paths found so far) → conformed copy."""

_AS_IS = frozenset({str, int, bool, type(None), dict, list})
"""Classes singer-sdk's primitive conformance returns unchanged (unless the property is
boolean-only): it converts datetimes, dates, times, timedeltas, bytes and NaN/infinite
numbers (float or Decimal)."""


def compile_conformer(schema: Mapping[str, Any]) -> Conform | None:
    """singer-sdk's recursive type conformance (`_conform_record_data_types` at level
    RECURSIVE) for `schema`, as a function: the same output and the same unmapped
    paths for any record, with the schema's questions (is this property a list of one
    item schema, an object with properties, boolean-only?) answered once here rather
    than for every value. None when the schema has a shape this does not mirror exactly
    (then singer-sdk's own function must be used)."""
    try:
        return _compile_object(schema)
    except Exception:  # e.g. an empty property schema: singer-sdk fails on some values
        return None


def _compile_object(schema: Mapping[str, Any]) -> Conform | None:
    properties = schema["properties"]
    open_ended = bool(schema.get("additionalProperties"))
    steps: dict[str, tuple[Any, ...]] = {}
    for name, spec in properties.items():
        uniform = bool(is_uniform_list(spec))
        item_spec: Any = spec["items"] if uniform else None
        item_inner: Conform | None = None
        if uniform and is_object_type(item_spec):
            if "properties" not in item_spec:
                return None  # singer-sdk fails on such items; let it
            item_inner = _compile_object(item_spec)
            if item_inner is None:
                return None
        nested: Conform | None = None
        if is_object_type(spec) and "properties" in spec:
            nested = _compile_object(spec)
            if nested is None:
                return None
        plain = not _is_exclusive_boolean_type(spec)
        item_plain = uniform and not _is_exclusive_boolean_type(item_spec)
        steps[name] = (uniform, item_spec, item_inner, item_plain, nested, plain, spec)
    simple = frozenset(
        name for name, (uniform, _, _, _, nested, plain, _) in steps.items()
        if plain and not uniform and nested is None
    )  # fmt: skip
    """Properties conformance only ever leaves as they are, given an `_AS_IS` value."""

    def conform(obj: dict[str, Any], parent: str | None, unmapped: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in simple and value.__class__ in _AS_IS:
                out[key] = value
                continue
            step = steps.get(key)
            if step is None:
                if open_ended:
                    out[key] = value
                else:
                    unmapped.append(key if parent is None else f"{parent}.{key}")
                continue
            uniform, item_spec, item_inner, item_plain, nested, plain, spec = step
            if uniform and isinstance(value, list):
                path = key if parent is None else f"{parent}.{key}"
                out[key] = [
                    item_inner(item, path, unmapped)
                    if item_inner is not None and isinstance(item, dict)
                    else item
                    if item_plain and item.__class__ in _AS_IS
                    else _conform_primitive_property(item, item_spec)
                    for item in value
                ]
            elif nested is not None and isinstance(value, dict):
                out[key] = nested(value, key if parent is None else f"{parent}.{key}", unmapped)
            elif plain and value.__class__ in _AS_IS:
                out[key] = value
            else:
                out[key] = _conform_primitive_property(value, spec)
        return out

    return conform


# -- base stream ----------------------------------------------------------------------------
class DelightedStream(CX360RESTStream):
    """Shared settings of every Delighted stream."""

    records_jsonpath = "$[*]"
    auth_error_hint = f"check {KEY_ENV}"

    @property
    def url_base(self) -> str:
        return str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def page_size(self) -> int:
        """Delighted caps `per_page` at 100."""
        return max(1, min(100, int(self.config.get("page_size", 100))))

    @property
    def authenticator(self) -> HTTPBasicAuth:
        """The API key is the Basic user name, with an empty password; env only."""
        return HTTPBasicAuth(require_env([KEY_ENV], "tap-delighted")[KEY_ENV], "")

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: singer-sdk would take it from the local clock, not the source's."""
        return None

    # -- pages ---------------------------------------------------------------------------
    def validate_response(self, response: requests.Response) -> None:
        if 200 <= response.status_code < 300:
            _prime_json(response)
        super().validate_response(response)

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Flush the RECORD lines of the page before while this request waits (see
        `_write_record_message`)."""
        sys.stdout.flush()
        return super()._request(prepared_request, context)

    # -- RECORD messages ------------------------------------------------------------------
    _conformer_for: tuple[Any, Conform | None] | None = None
    _all_selected_for: tuple[Any, bool] | None = None

    def _conformer(self) -> Conform | None:
        """`compile_conformer(self.effective_schema)`, compiled once per schema."""
        schema = self.effective_schema
        cached = self._conformer_for
        if cached is None or cached[0] is not schema:
            cached = self._conformer_for = (schema, compile_conformer(schema))
        return cached[1]

    def _all_selected(self) -> bool:
        """Every property selected: deselection would remove nothing."""
        mask = self.mask
        cached = self._all_selected_for
        if cached is None or cached[0] is not mask:
            cached = self._all_selected_for = (mask, all(mask.values()))
        return cached[1]

    def _generate_record_messages(self, record: Record) -> Iterator[singer.RecordMessage]:
        """singer-sdk's `_generate_record_messages` (deselect, conform, map, one message
        per stream map), with the compiled conformance; singer-sdk's own method when the
        conformance level is not RECURSIVE or the schema cannot be compiled."""
        conform = None
        if self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.RECURSIVE:
            conform = self._conformer()
        if conform is None:
            yield from super()._generate_record_messages(record)
            return
        if not self._all_selected():
            pop_deselected_record_properties(record, self.schema, self.mask)
        unmapped: list[str] = []
        record = conform(record, None, unmapped)
        if unmapped:
            _warn_unmapped_properties(self.name, tuple(unmapped), self.logger)
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _write_record_message(self, record: Record) -> None:
        """singer-sdk's `_write_record_message` with its default writer, minus the flush
        after every line: lines go to the same `sys.stdout` buffer as every other message
        (so the order is kept), and `_request` flushes them once a page."""
        if type(self._tap.message_writer) is not SimpleSingerWriter:
            super()._write_record_message(record)
            return
        write = sys.stdout.write
        for message in self._generate_record_messages(record):
            write(encode_message(message.to_dict()) + "\n")
        self.state_manager.is_flushed = False
