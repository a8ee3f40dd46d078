"""BATCH mode for the Zendesk streams with many rows (tickets, users, ticket_metrics,
satisfaction_ratings, ticket_events).

Why a path of its own: through singer-sdk's record loop (`_sync_records`: post-processing,
per-record state bookkeeping, type conformance, a dict copy) a tap writes ~8k rows/s; the
loader takes them several times faster. Here a page goes from the response (parsed once, by
msgspec) to the BATCH file as a list: per row only what the RECORD mode would change
(the stream's `post_process`, the de-duplication of time-export page boundaries, and the
conformance singer-sdk applies) is done, by code compiled from the schema once. The rows
are the ones RECORD mode emits, and STATE after each file bookmarks exactly its rows.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from tempfile import gettempdir
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
import requests
from cx360_singer import BatchFile, GzipJsonlBatchWriter, normalize_utc
from cx360_singer.prefetch import prefetched
from cx360_singer.rest import _JSON_ATTR
from cx360_singer.timeutil import normalize_utc_or_keep
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, StorageTarget
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers.types import Context, Record

from tap_zendesk.client import _WHOLE_SECOND_Z, ZendeskStream, payload_of

DEFAULT_BATCH_SIZE_ROWS = 100_000
PAGES_AHEAD = 2
Conform = Callable[[dict[str, Any]], dict[str, Any]]


class BatchFilesStream(ZendeskStream):
    """A stream that, with `batch_mode` on (the default), hands its rows to the loader
    as gzip JSONL files announced by Singer BATCH messages."""

    def get_batch_config(self, config: Mapping) -> BatchConfig | None:
        """An explicit singer-sdk `batch_config` wins; else `batch_mode` (default on)
        writes gzip JSONL files under `batch_dir`."""
        explicit = super().get_batch_config(config)
        if explicit is not None or not config.get("batch_mode", True):
            return explicit
        directory = Path(
            config.get("batch_dir") or Path(gettempdir()) / "cx360-batches" / "tap-zendesk"
        )
        return BatchConfig(
            encoding=BaseBatchFileEncoding(
                format="jsonl",
                compression="gzip" if int(config.get("batch_compresslevel", 1)) else "none",
            ),
            storage=StorageTarget(root=directory.expanduser().resolve().as_uri()),
            batch_size=int(config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS),
        )

    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """Files of `batch_size` rows, each row exactly as its RECORD message would carry
        it. The bookmark moves to a file's last row once the file is complete, so the
        STATE singer-sdk writes after each BATCH message covers the announced rows only
        (a failed sync deletes the file it was writing)."""
        writer = GzipJsonlBatchWriter(
            _local_path(batch_config.storage.root),
            self.name,
            compresslevel=int(self.config.get("batch_compresslevel", 1)),
        )
        size = max(1, int(batch_config.batch_size))
        self._write_starting_replication_value(context)
        current: BatchFile | None = None
        last: Record | None = None
        with self.get_record_counter() as counter, self.get_sync_timer():
            counter.with_context(context)
            try:
                for page in self._batch_pages(context):
                    while page:
                        if current is None:
                            current = writer.open_file()
                        room = size - current.count
                        rows, page = page[:room], page[room:]
                        current.add(rows)
                        last = self._bookmark_row(rows, last)
                        if current.count >= size:
                            uri, count = current.close()
                            current = None
                            counter.increment(count)
                            self._increment_stream_state(self._as_record(last), context=context)
                            yield batch_config.encoding, [uri]
                if current is not None:
                    uri, count = current.close()
                    current = None
                    counter.increment(count)
                    if last is not None:
                        self._increment_stream_state(self._as_record(last), context=context)
                    yield batch_config.encoding, [uri]
            finally:
                if current is not None:  # never announced: nothing will read it
                    try:
                        current.close()
                    finally:
                        current.path.unlink(missing_ok=True)
        self._finalize_state(self.get_context_state(context))

    # -- pages ---------------------------------------------------------------------------
    def _batch_pages(self, context: Context | None) -> Iterator[list[Any]]:
        """Each page's finished rows (pages left empty are skipped). Pages are requested
        on a worker thread, up to PAGES_AHEAD ahead, so that the server prepares the next
        page while this one becomes rows (one after the other, each side waited for the
        other); paging, retries and request metrics as in singer-sdk's
        `request_records`."""
        item_filter = self._item_filter()
        finish = self._row_finisher(item_filter)
        plan = self._struct_plan()
        finish_structs = plan.finisher(self, item_filter) if plan is not None else None
        self._active_plan = plan
        try:
            with contextlib.closing(
                prefetched(self._page_items(context), depth=PAGES_AHEAD, name="zendesk-pages")
            ) as pages:
                for items in pages:
                    guards_needed = True
                    if plan is not None and isinstance(items, RawItems):
                        guards_needed = items.guards_needed
                        items = plan.decode_items(items.array)
                        if not items:
                            continue
                    if plan is not None and items[0].__class__ is plan.item_type:
                        rows = finish_structs(items, guards_needed)  # type: ignore[misc]
                    else:
                        rows = finish(items, context)
                    if rows:
                        yield rows
        finally:
            self._active_plan = None

    def _page_items(self, context: Context | None) -> Iterator[list[Any]]:
        """The items of each non-empty page, in order."""
        paginator = self.get_new_paginator()
        decorated_request = self.request_decorator(self._request)
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            while not paginator.finished:
                prepared = self._prepare_request(context=context, page=paginator)
                response = decorated_request(prepared, context)
                request_counter.increment()
                self.update_sync_costs(prepared, response, context)
                items = self.page_items(payload_of(response))
                if not items and not paginator.continue_if_empty(response):
                    break
                if items:
                    yield items
                paginator.advance(response)

    def _prime_json(self, response: requests.Response) -> None:
        """While BATCH mode reads pages, parse them into Structs (see `StructPlan`)."""
        plan: StructPlan | None = getattr(self, "_active_plan", None)
        if plan is None or getattr(response, _JSON_ATTR, None) is not None:
            super()._prime_json(response)
            return
        try:
            payload = plan.decode_page(response.content)
        except (msgspec.DecodeError, TypeError):  # not the usual shape: parsed as dicts
            super()._prime_json(response)
            return
        setattr(response, _JSON_ATTR, payload)

    def _struct_plan(self) -> StructPlan | None:
        """How to read this stream's pages into Structs, or None to read dicts (some
        property deselected, the schema needs what `StructPlan` does not do, or the
        stream's `page_items` builds its items from more of the page than one list:
        a plan decodes that list only)."""
        if not all(self.mask.values()):
            return None
        return StructPlan.build(self, self.resource_key or self.name)

    struct_values_read: tuple[str, ...] = ()
    """Properties whose values `struct_post_process` reads besides the keys, the
    replication key and the instants (`status` to mark deleted tickets, say)."""

    def struct_decoded_properties(self) -> set[str]:
        """Properties a Struct row holds as Python values: those the stream's code reads
        (keys, replication key, instants, `struct_values_read`). Any other property
        without conformance to do stays raw JSON bytes, copied from page to file as
        sent: a value that is never looked at need not be built and encoded again."""
        return {
            "id",
            *(self.primary_keys or ()),
            *([self.replication_key] if self.replication_key else []),
            *self._instant_fields,
            *self.struct_values_read,
        }

    def struct_post_process(self, rows: list[Any], attrs: Mapping[str, str]) -> None:
        """`post_process` for a page of Struct rows (`attrs`: property → attribute name):
        the instants, as `ZendeskStream.post_process` does them, one property at a time
        (a pass per column costs half of a pass per row that looks each attribute up).
        Streams whose `post_process` does more extend this (or make `_struct_plan` return
        None)."""
        unset = msgspec.UNSET
        whole_second = _WHOLE_SECOND_Z.fullmatch
        for name in self._instant_fields:
            attr = attrs.get(name)
            if attr is None:
                continue
            if name == self.replication_key:
                for row in rows:
                    value = getattr(row, attr)
                    if value is not None and value is not unset:
                        setattr(row, attr, normalize_utc(value))
                continue
            for row in rows:
                value = getattr(row, attr)
                if value.__class__ is str and len(value) == 20 and whole_second(value):
                    setattr(row, attr, f"{value[:19]}.000000Z")
                elif value is not None and value is not unset:
                    setattr(row, attr, normalize_utc_or_keep(value))

    def _bookmark_row(self, rows: list[Any], previous: Any) -> Any:
        """The row whose replication value the bookmark takes after `rows`: the last one
        where the API orders by that value; else the greatest so far (an unsorted
        stream's bookmark is the maximum of everything read, committed at its end)."""
        if self.is_sorted or not self.replication_key:
            return rows[-1]
        key = self.replication_key
        best, best_value = previous, None
        if previous is not None:
            best_value = self._as_record(previous).get(key)
        for row in rows:
            value = self._as_record(row).get(key)
            if value is None or value is msgspec.UNSET:
                continue
            if best_value is None or value > best_value:
                best, best_value = row, value
        return best

    def _as_record(self, row: Any) -> Record:
        """A row as `_increment_stream_state` reads it (it only needs the bookmark)."""
        if isinstance(row, dict):
            return row
        plan = self._active_plan or self._struct_plan()
        assert plan is not None and self.replication_key
        return {self.replication_key: getattr(row, plan.attrs[self.replication_key])}

    def _row_finisher(
        self, item_filter: Callable[[list[dict[str, Any]]], Iterator[dict[str, Any]]]
    ) -> Callable[[list[dict[str, Any]], Context | None], list[Record]]:
        """items of a page → rows: `item_filter` (as `get_records` applies it), then
        `post_process`, deselection and conformance."""
        conform = self._conformer()
        mask = self.mask
        deselected = not all(mask.values())
        post_process = self.post_process
        schema = self.schema

        def finish(items: list[dict[str, Any]], context: Context | None) -> list[Record]:
            rows = []
            for item in item_filter(items):
                row = post_process(item, context)
                if row is None:
                    continue
                if deselected:
                    pop_deselected_record_properties(row, schema, mask)
                rows.append(conform(row))
            return rows

        return finish

    def _conformer(self) -> Conform:
        compiled = compile_conformer(self.effective_schema)
        if compiled is not None:
            return compiled
        effective_schema, level, logger = (
            self.effective_schema,
            self.TYPE_CONFORMANCE_LEVEL,
            self.logger,
        )

        def conform(row: dict[str, Any]) -> dict[str, Any]:
            return conform_record_data_types(
                stream_name=self.name, record=row, schema=effective_schema, level=level,
                logger=logger,
            )  # fmt: skip

        return conform


# -- pages as Structs ----------------------------------------------------------------------
PAGE_ENVELOPE = (
    "end_of_stream", "next_page", "after_cursor", "before_cursor", "after_url", "before_url",
    "count", "end_time", "meta", "links",
)  # fmt: skip
"""The keys of a page the paginators read (besides the items)."""


class RawItems:
    """A page's items as one raw JSON array, and whether any may need the guarded
    conformance (see `StructPlan.guards_needed`). False when the array is empty."""

    __slots__ = ("array", "guards_needed")

    def __init__(self, array: msgspec.Raw, guards_needed: bool) -> None:
        self.array = array
        self.guards_needed = guards_needed

    def __bool__(self) -> bool:
        size = len(self.array)
        return size > 2 and (size > 64 or bool(bytes(self.array)[1:-1].strip()))


class StructPlan:
    """Pages read into msgspec Structs: an item is a Struct with an attribute per schema
    property, so keys the schema lacks are dropped while decoding (as conformance would
    drop them) and an absent key stays absent when encoded; object- and array-valued
    properties that conformance would leave alone, and scalars no code reads (see
    `BatchFilesStream.struct_decoded_properties`), stay raw JSON bytes, never decoded.
    For a list of objects whose only conformance is boolean-only properties (a ticket
    event's `child_events[].public`), the bytes are decoded and conformed only when such a
    property holds something other than true/false/null. Decoding a page of ticket events
    this way costs a fraction of building its dicts."""

    def __init__(
        self,
        resource: str,
        item_type: type,
        attrs: dict[str, str],
        booleans: list[str],
        guarded: list[tuple[str, re.Pattern[bytes], Conform]],
        objects: list[tuple[str, Callable[[Any], Any]]],
        page_guard: re.Pattern[bytes] | None,
    ) -> None:
        self.resource = resource
        self.item_type = item_type
        self.attrs = attrs
        self.booleans = booleans
        self.guarded = guarded
        self.page_guard = page_guard
        self.objects = objects
        page_type = msgspec.defstruct(
            "ZendeskPage",
            [
                ("items", msgspec.Raw | msgspec.UnsetType, msgspec.UNSET),
                *[(key, Any | msgspec.UnsetType, msgspec.UNSET) for key in PAGE_ENVELOPE],
            ],
            rename={"items": resource},
        )
        self._page_decoder = msgspec.json.Decoder(page_type, float_hook=Decimal)
        self._items_decoder = msgspec.json.Decoder(list[item_type], float_hook=Decimal)  # type: ignore[valid-type]

    @classmethod
    def build(cls, stream: BatchFilesStream, resource: str) -> StructPlan | None:
        schema = stream.effective_schema
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or schema.get("additionalProperties"):
            return None
        attrs = {name: f"p{index}" for index, name in enumerate(properties)}
        fields: list[tuple[str, Any, Any]] = []
        booleans: list[str] = []
        guarded: list[tuple[str, re.Pattern[bytes], Conform]] = []
        guard_keys: set[str] = set()
        objects: list[tuple[str, Callable[[Any], Any]]] = []
        decoded = stream.struct_decoded_properties()
        for name, spec in properties.items():
            attr = attrs[name]
            kind: Any = Any  # decoded: conformed below, or read by the stream's code
            if not isinstance(spec, Mapping) or any(
                k in spec for k in ("prefixItems", "anyOf", "oneOf", "allOf")
            ):
                return None
            kinds = spec.get("type")
            kinds = set(kinds) if isinstance(kinds, list) else {kinds}
            if _is_exclusive_boolean(spec):
                booleans.append(attr)
            elif "array" in kinds and isinstance(spec.get("items"), Mapping):
                item = spec["items"]
                item_kinds = item.get("type")
                item_kinds = set(item_kinds) if isinstance(item_kinds, list) else {item_kinds}
                if "object" in item_kinds and "properties" in item:
                    inner = _compile_object(item)
                    keys = _boolean_only_keys(item)
                    if inner is None:
                        return None
                    if keys is None:
                        objects.append((attr, _each_object(inner)))
                    else:
                        kind = msgspec.Raw
                        if keys:
                            guarded.append((attr, _non_boolean_value(keys), _each_object(inner)))
                            guard_keys.update(keys)
                elif _is_exclusive_boolean(item):
                    objects.append((attr, _each_boolean))
                else:
                    kind = msgspec.Raw
            elif "object" in kinds and "properties" in spec:
                inner = _compile_object(spec)
                if inner is None:
                    return None
                objects.append((attr, _object(inner)))
            elif "object" in kinds or "array" in kinds or name not in decoded:
                kind = msgspec.Raw
            fields.append((attr, kind | msgspec.UnsetType, msgspec.UNSET))
        item_type = msgspec.defstruct(
            f"Zendesk_{stream.name}",
            fields,
            rename={attr: name for name, attr in attrs.items()},
            omit_defaults=True,
            gc=False,
        )
        page_guard = _non_boolean_value(sorted(guard_keys), escapes=False) if guard_keys else None
        return cls(resource, item_type, attrs, booleans, guarded, objects, page_guard)

    def decode_page(self, content: bytes) -> dict[str, Any]:
        """The page as the paginators read it: a dict of its envelope keys and items, the
        items still one raw JSON array (the thread fetching pages only needs the envelope
        to ask for the next one; `decode_items` does the rest on the thread writing
        rows). TypeError when the items are not an array."""
        page = self._page_decoder.decode(content)
        payload = {
            key: value
            for key, value in msgspec.structs.asdict(page).items()
            if value is not msgspec.UNSET
        }
        if "items" in payload:
            array = payload.pop("items")
            if memoryview(array)[:1] != b"[":
                raise TypeError(f"{self.resource} is not a list")
            payload[self.resource] = RawItems(array, self.guards_needed(content))
        return payload

    def decode_items(self, array: bytes | msgspec.Raw) -> list[Any]:
        """A JSON array of items → Structs; if any item does not fit (not an object,
        say), all become dicts."""
        try:
            return self._items_decoder.decode(array)
        except msgspec.DecodeError:
            return _PLAIN_DECODER.decode(array)

    def guards_needed(self, page: bytes) -> bool:
        """Whether any item of a page may need the guarded conformance: False when
        every guarded key on the page holds true, false or null and nothing is
        \\u-escaped. Two scans of the page in C instead of a regex search per row; any
        doubt (an escape anywhere, the key's name as a value) leaves the per-row check
        on."""
        if self.page_guard is None:
            return False
        # a backslash is rare in JSON and found by memchr; "\\u" only by a slower search
        if b"\\" in page and b"\\u" in page:
            return True
        return self.page_guard.search(page) is not None

    def finisher(
        self, stream: BatchFilesStream, item_filter: Callable[[Any], Iterator[Any]]
    ) -> Callable[[list[Any]], list[Any]]:
        """A page's Structs → rows: the repeat filter, `struct_post_process`, and the
        conformance steps the Struct type itself does not do."""
        attrs, booleans, guarded, objects = self.attrs, self.booleans, self.guarded, self.objects
        post_process = stream.struct_post_process
        unset = msgspec.UNSET
        drop_repeats = _struct_repeat_filter(stream, attrs) if item_filter is not iter else None

        def finish(items: list[Any], guards_needed: bool = True) -> list[Any]:
            rows = drop_repeats(items) if drop_repeats is not None else items
            post_process(rows, attrs)
            for attr in booleans:
                for row in rows:
                    value = getattr(row, attr)
                    if value is not None and value is not unset and value.__class__ is not bool:
                        setattr(row, attr, value != 0)
            for attr, pattern, conform in guarded if guards_needed else ():
                for row in rows:
                    value = getattr(row, attr)
                    if value.__class__ is msgspec.Raw and pattern.search(bytes(value)):
                        setattr(row, attr, conform(_PLAIN_DECODER.decode(value)))
            for attr, conform in objects:
                for row in rows:
                    value = getattr(row, attr)
                    if value is not None and value is not unset:
                        setattr(row, attr, conform(value))
            return rows

        return finish


_PLAIN_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def _struct_repeat_filter(
    stream: BatchFilesStream, attrs: Mapping[str, str]
) -> Callable[[list[Any]], list[Any]]:
    """`TimeExportStream._item_filter` for Structs: drops page-boundary repeats."""
    assert stream.replication_key
    key_attr, id_attr = attrs[stream.replication_key], attrs["id"]
    boundary: Any = object()
    seen: set[Any] = set()

    def drop_repeats(items: list[Any]) -> list[Any]:
        nonlocal boundary, seen
        kept = []
        for item in items:
            value = getattr(item, key_attr)
            value = None if value is msgspec.UNSET else value
            ident = getattr(item, id_attr)
            if value == boundary:
                if ident in seen:
                    continue
                seen.add(ident)
            else:
                boundary, seen = value, {ident}
            kept.append(item)
        return kept

    return drop_repeats


def _boolean_only_keys(item: Mapping[str, Any]) -> list[str] | None:
    """For the item schema of a list: the boolean-only properties, when those are all
    conformance can change (extra keys allowed, nothing nested to conform); else None."""
    if not item.get("additionalProperties"):
        return None
    keys = []
    for name, spec in item["properties"].items():
        if not isinstance(spec, Mapping):
            return None
        kinds = spec.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if _is_exclusive_boolean(spec):
            keys.append(name)
        elif "object" in kinds and "properties" in spec:
            return None
        elif "array" in kinds and isinstance(spec.get("items"), Mapping):
            inner = spec["items"]
            if "properties" in inner or _is_exclusive_boolean(inner):
                return None
    return keys


def _non_boolean_value(keys: list[str], *, escapes: bool = True) -> re.Pattern[bytes]:
    """Matches raw JSON where one of `keys` holds something but true/false/null (or,
    with `escapes`, where a string has a \\u escape, which could spell such a key)."""
    names = b"|".join(re.escape(json.dumps(key).encode()) for key in keys)
    pattern = rb"(?:" + names + rb")\s*:\s*(?!true\b|false\b|null\b)"
    return re.compile(pattern + rb"|\\u" if escapes else pattern)


# -- conformance ---------------------------------------------------------------------------
def compile_conformer(schema: Mapping[str, Any]) -> Conform | None:
    """What singer-sdk's recursive type conformance does to rows decoded from JSON, as a
    function built once from `schema`: drop properties the schema does not declare
    (unless it allows additional ones), turn numbers in boolean-only properties into
    booleans, recursing into declared objects and lists of them. Other conversions
    (datetime, bytes, NaN) cannot arise from JSON. None when the schema uses something
    this does not cover (then singer-sdk's own function is used)."""
    return _compile_object(schema)


def _compile_object(schema: Mapping[str, Any]) -> Conform | None:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return None
    known = frozenset(properties)
    open_ended = bool(schema.get("additionalProperties"))
    steps: list[tuple[str, Callable[[Any], Any]]] = []
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            return None
        if "prefixItems" in spec or "anyOf" in spec or "oneOf" in spec or "allOf" in spec:
            return None
        kinds = spec.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if _is_exclusive_boolean(spec):
            steps.append((name, _to_boolean))
        elif "array" in kinds and isinstance(spec.get("items"), Mapping):
            item = spec["items"]
            item_kinds = item.get("type")
            item_kinds = set(item_kinds) if isinstance(item_kinds, list) else {item_kinds}
            if "object" in item_kinds and "properties" in item:
                inner = _compile_object(item)
                if inner is None:
                    return None
                steps.append((name, _each_object(inner)))
            elif "object" in item_kinds:
                continue  # no declared properties: singer-sdk cannot conform these either
            elif _is_exclusive_boolean(item):
                steps.append((name, _each_boolean))
        elif "object" in kinds and "properties" in spec:
            inner = _compile_object(spec)
            if inner is None:
                return None
            steps.append((name, _object(inner)))

    def conform(row: dict[str, Any]) -> dict[str, Any]:
        if not open_ended and not row.keys() <= known:
            row = {key: value for key, value in row.items() if key in known}
        for name, step in steps:
            value = row.get(name)
            if value is not None:
                row[name] = step(value)
        return row

    return conform


def _is_exclusive_boolean(spec: Mapping[str, Any]) -> bool:
    kinds = spec.get("type")
    if kinds is None:
        return False
    return kinds == "boolean" or kinds == ["boolean"] or set(kinds) == {"boolean", "null"}


def _to_boolean(value: Any) -> Any:
    return value if value.__class__ is bool else value != 0


def _each_boolean(values: Any) -> Any:
    if not isinstance(values, list):
        return values
    return [v if v is None or v.__class__ is bool else v != 0 for v in values]


def _object(inner: Conform) -> Callable[[Any], Any]:
    return lambda value: inner(value) if isinstance(value, dict) else value


def _each_object(inner: Conform) -> Callable[[Any], Any]:
    def each(values: Any) -> Any:
        if not isinstance(values, list):
            return values
        return [inner(v) if isinstance(v, dict) else v for v in values]

    return each


def _local_path(root: str) -> Path:
    """A `file://` storage root as a local path (the loader reads local files only)."""
    if root.startswith("file://"):
        return Path(unquote(urlsplit(root).path))
    return Path(root)
