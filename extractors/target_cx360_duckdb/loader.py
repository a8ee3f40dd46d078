"""DuckDBLoader: Singer messages in, typed upserted DuckDB tables out.

Why not a generic Singer target: target-duckdb 0.8.0 drops the first row of every batch
on DuckDB >= 1.3, loses UTC offsets and creates HUGEINT columns; a generic singer-sdk
SQLTarget validates and inserts record by record (~6k rec/s). Here Python only touches
the message envelope: the ``record`` bytes are spooled untouched (msgspec ``Raw``) to a
JSONL file per stream, and DuckDB does parsing, type validation, de-duplication and the
upsert set-wise, one transaction per flush.

Tables (all in the configured schema):

``<stream>``
    one column per schema property (types: see :mod:`target_cx360_duckdb.coltypes`),
    primary key = the stream's ``key_properties`` (streams without keys are
    append-only), plus metadata columns:

    * ``_extracted_at TIMESTAMPTZ`` — RECORD ``time_extracted`` if present, else the
      time the loader received the message (for BATCH rows: when the BATCH arrived);
    * ``_loaded_at TIMESTAMPTZ`` — the commit (flush) time, same for every row of a flush;
    * ``_deleted_at TIMESTAMPTZ`` — the record's ``_sdc_deleted_at`` property (taps set it
      for Salesforce ``IsDeleted`` and Zendesk ``status=deleted``), else NULL. Rows are
      soft-deleted only; ``_sdc_deleted_at`` itself is not stored as a column.

``_quarantine(stream, payload JSON, error, loaded_at)``
    rows rejected by validation: a non-null value that does not cast to its column type,
    breaks its schema's ``minimum``/``maximum``/``maxLength`` (see
    ``coltypes.CONSTRAINT_KEYWORDS``), or a null/missing key property. ``error`` names each
    bad field and its value.

``_singer_state(state_key PRIMARY KEY, state JSON, committed_at)``
    the latest STATE value, written in the same transaction as the data it covers.
    Resume a tap from :func:`read_state` (or :meth:`DuckDBLoader.read_state`).

``_deferred_keys(table_name PRIMARY KEY, key_columns)``
    tables this loader created whose primary key is not built yet (see below).

Semantics:

* Flush = one transaction covering every stream's pending rows plus the latest STATE.
  It happens when a stream has ``batch_size_rows`` pending, on each BATCH message, before
  a changed SCHEMA is applied, and at end of input (``close()``). Only after COMMIT is
  the state handed to ``on_state`` (the CLI prints it), so an emitted state never runs
  ahead of the data; a crash can at worst leave state in the table newer than the last
  emitted line, which is the one to resume from.
* Upserts keep the last record per key within a flush (spool sequence number order), so
  replaying from an older bookmark converges to the same table.
* A keyed table the loader creates gets its primary key when the loader closes, not at
  creation (it is listed in ``_deferred_keys`` meanwhile): until then flushes append, and
  closing keeps the last row per key (the latest flush's), then builds the key's index in
  one go. Why: keeping a primary-key index up to date row by row was the largest cost of a
  first sync (10M Amplitude events: 76 s of the loader's 124 s; building it at the end
  takes a few seconds). A loader that finds a table still listed (its run was killed)
  builds its key before loading anything: a killed run's table is without its key only
  until the next loader opens the schema.
* Schema evolution is additive: new properties → ``ADD COLUMN``; dropped properties keep
  their column (NULL for new rows); type changes widen (see ``coltypes.widen``).
* ACTIVATE_VERSION is ignored (logged): cx360 taps are incremental and signal deletes
  through ``_sdc_deleted_at``, so no version-based hard deletes happen here.
* Property names ``__cx_seq``, ``__cx_rcv``, ``__cx_ext``, ``__cx_err``, ``__cx_src`` and
  the metadata column names are reserved.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple, NoReturn
from urllib.parse import unquote, urlparse

import duckdb
import msgspec

from target_cx360_duckdb import coltypes as ct

log = logging.getLogger("target_cx360_duckdb")

DEFAULT_BATCH_SIZE_ROWS = 100_000
META_COLUMNS: dict[str, str] = {
    "_extracted_at": ct.TIMESTAMPTZ,
    "_loaded_at": ct.TIMESTAMPTZ,
    "_deleted_at": ct.TIMESTAMPTZ,
}
DELETED_PROPERTY = "_sdc_deleted_at"
QUARANTINE_TABLE = "_quarantine"
STATE_TABLE = "_singer_state"
DEFERRED_KEYS_TABLE = "_deferred_keys"
_SPOOL_FIELDS = ("__cx_seq", "__cx_rcv", "__cx_ext", "__cx_err", "__cx_src")
_RESERVED = frozenset(_SPOOL_FIELDS) | frozenset(META_COLUMNS)
_MAX_OBJECT_BYTES = 256 * 1024 * 1024
_ERR_VALUE_CHARS = 200
_WS_END = (b"\n", b"\r", b" ", b"\t")


class LoaderError(Exception):
    """Any failure of the loader; nothing of the failed flush was committed."""


class LoaderInputError(LoaderError):
    """The input is not a valid Singer stream (bad JSON, RECORD before SCHEMA, ...)."""


@dataclass
class StreamStats:
    """Per-stream counters, cumulative over the loader's life.

    ``records`` counts rows received (RECORD messages + rows of BATCH files);
    ``inserted``/``updated`` are new vs replaced keys (append-only streams only insert);
    ``deleted`` counts loaded rows carrying ``_deleted_at``; ``seconds`` is DuckDB time
    spent flushing this stream.
    """

    records: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    flushes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Envelope(msgspec.Struct, gc=False):
    """Just enough of a Singer message to route a RECORD without decoding its body.

    msgspec still validates the whole line as JSON (so a bad line fails here, with its
    line number), but the record is only kept as raw bytes.
    """

    type: str
    stream: str | None = None
    record: msgspec.Raw = msgspec.Raw()  # empty when absent


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_ENCODER = msgspec.json.Encoder(decimal_format="number")


@dataclass
class _Stream:
    name: str
    index: int
    key_properties: list[str]
    columns: dict[str, str]  # property -> type derived from the latest SCHEMA
    schema_fingerprint: bytes
    spool_path: Path
    spool: IO[bytes] | None = None
    generation: int = 0
    pending_rows: int = 0
    batch_files: list[tuple[Path, str, int]] = field(default_factory=list)
    ddl_pending: bool = True
    stats: StreamStats = field(default_factory=StreamStats)
    constraints: dict[str, dict[str, float]] = field(default_factory=dict)
    """property -> enforced JSON Schema constraints (minimum, maxLength, ...)"""
    holds_loaded_keys: bool = False
    """A flush found keys the table already held: later flushes upsert without checking."""


@dataclass
class _StreamJob:
    """Immutable snapshot of one stream's pending work, handed to a flush."""

    stream: _Stream
    columns: dict[str, str]
    key_properties: list[str]
    spool_path: Path
    spool_rows: int
    batch_files: list[tuple[Path, str, int]]
    constraints: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class _Job:
    streams: list[_StreamJob]
    state: Any
    state_dirty: bool
    seq_base: int  # every spooled sequence number of this job is <= seq_base


class _Counts(NamedTuple):
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    batch_rows: int = 0  # rows read from BATCH files (RECORDs are counted on arrival)


@dataclass
class _Table:
    """Cached shape of an existing target table (invalidated on rollback)."""

    columns: dict[str, str]  # actual column name -> canonical type (no metadata columns)
    keys: list[str]
    key_deferred: bool = False
    """The primary key is declared in `_deferred_keys`, not built yet: flushes append."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path_from_uri(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    raise LoaderInputError(f"BATCH manifest entry {uri!r}: only file:// URIs are supported")


def read_state(
    database: str | Path | duckdb.DuckDBPyConnection, schema: str, state_key: str | None = None
) -> dict[str, Any] | None:
    """Return the last committed Singer state for ``schema`` (None if never loaded).

    The runner passes this to the tap as ``--state`` to resume exactly where the
    warehouse is, regardless of which STATE lines made it to stdout before a crash.
    """
    key = state_key or schema
    if isinstance(database, duckdb.DuckDBPyConnection):
        con = database.cursor()
    else:
        if not Path(database).exists():
            return None
        con = duckdb.connect(str(database))
    try:
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, STATE_TABLE],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = con.execute(
            f"SELECT state FROM {_q(schema)}.{_q(STATE_TABLE)} WHERE state_key = ?", [key]
        ).fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None
    finally:
        con.close()


class DuckDBLoader:
    """Load Singer messages into ``<database>.<schema>``; see the module docstring.

    Use as a context manager (``close()`` on success flushes, an exception aborts), or
    call ``process_line``/``process`` then ``close()``.

    ``on_state`` is called with each STATE value after the transaction that persisted it
    commits. With ``background_flush`` (default) a flush triggered by ``batch_size_rows``
    runs on a worker thread while the next batch is spooled (DuckDB releases the GIL), so
    ``on_state`` may be called from that thread; at most one flush is in flight and
    flushes commit in order. A failed background flush is raised by the next call.
    """

    def __init__(
        self,
        database: str | Path,
        schema: str,
        *,
        batch_size_rows: int = DEFAULT_BATCH_SIZE_ROWS,
        spool_dir: str | Path | None = None,
        state_key: str | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
        background_flush: bool = True,
    ) -> None:
        if not schema:
            raise LoaderError("schema must be a non-empty string")
        if batch_size_rows < 1:
            raise LoaderError("batch_size_rows must be >= 1")
        self.database = str(database)
        self.schema = schema
        self.batch_size_rows = int(batch_size_rows)
        self.state_key = state_key or schema
        self.on_state = on_state
        self.stats: dict[str, StreamStats] = {}
        self.committed_state: dict[str, Any] | None = None
        self.line_number = 0
        self._streams: dict[str, _Stream] = {}
        self._tables: dict[str, _Table] = {}
        self._pending_state: Any = None
        self._state_dirty = False
        self._seq = 0
        self._closed = False
        self._failed: BaseException | None = None
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="cx360-flush")
            if background_flush
            else None
        )
        self._inflight: Future[None] | None = None

        if connection is not None:
            self._con = connection.cursor()
        else:
            if self.database != ":memory:":
                Path(self.database).parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(self.database)
            # Checkpoint when a gigabyte of WAL has built up, not at DuckDB's 16 MB: a large
            # sync otherwise rewrites and recompresses row groups at nearly every commit.
            # Commits stay durable (the WAL is synced); closing the loader checkpoints.
            self._con.execute("SET checkpoint_threshold = '1GB'")
        # Naive timestamps in the data are UTC; the setting is per connection.
        self._con.execute("SET TimeZone = 'UTC'")
        if spool_dir is None:
            spool_parent = (
                Path(tempfile.gettempdir())
                if self.database == ":memory:"
                else Path(self.database).resolve().parent / ".cx360-spool"
            )
        else:
            spool_parent = Path(spool_dir)
        spool_parent.mkdir(parents=True, exist_ok=True)
        self._spool_root = Path(tempfile.mkdtemp(prefix=f"{schema}-", dir=spool_parent))
        self._create_base_tables()
        self._build_deferred_keys()  # left by a run that was killed before closing

    # ------------------------------------------------------------------ config / API

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        on_state: Callable[[dict[str, Any]], None] | None = None,
    ) -> DuckDBLoader:
        """Build from the target config.

        Keys: ``database`` and ``schema`` (required), ``batch_size_rows``, ``spool_dir``,
        ``state_key``, ``background_flush``.
        """
        missing = [k for k in ("database", "schema") if not config.get(k)]
        if missing:
            raise LoaderError(f"config is missing required key(s): {', '.join(missing)}")
        return cls(
            config["database"],
            config["schema"],
            batch_size_rows=int(config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS),
            spool_dir=config.get("spool_dir"),
            state_key=config.get("state_key"),
            on_state=on_state,
            background_flush=bool(config.get("background_flush", True)),
        )

    def __enter__(self) -> DuckDBLoader:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def read_state(self) -> dict[str, Any] | None:
        """Last committed state for this loader's schema/state_key."""
        self._wait()
        return read_state(self._con, self.schema, self.state_key)

    def process_lines(self, lines: Iterable[bytes | str]) -> None:
        for line in lines:
            self.process_line(line)

    def process_line(self, line: bytes | str) -> None:
        """Process one Singer message line.

        Fast path: a RECORD line is validated and routed by msgspec, then appended to its
        stream's spool wrapped as ``{"__cx_seq":n,"__cx_rcv":ms,"m":<line>}`` — the
        record itself is never decoded or re-encoded in Python.
        """
        if self._closed or self._failed is not None:
            self._check_open()
        self.line_number += 1
        data = line.encode() if isinstance(line, str) else bytes(line)
        try:
            env = _ENVELOPE.decode(data)
        except msgspec.DecodeError as exc:
            if not data.strip():
                return
            raise LoaderInputError(
                f"line {self.line_number}: not a valid Singer message ({exc})"
            ) from None
        if env.type != "RECORD":
            self._message(msgspec.json.decode(data))
            return
        st = self._streams.get(env.stream)  # type: ignore[arg-type]
        raw = env.record
        if st is None or not len(raw) or memoryview(raw)[0] != 0x7B:  # "{"
            self._bad_record(env.stream)
        if data[-1:] in _WS_END:
            data = data.rstrip()
        self._spool(st, data)  # type: ignore[arg-type]

    def process(self, message: Mapping[str, Any]) -> None:
        """Process one already-decoded Singer message (in-process taps)."""
        self._check_open()
        self.line_number += 1
        if not isinstance(message, Mapping) or "type" not in message:
            raise LoaderInputError(f"line {self.line_number}: message has no 'type'")
        if message["type"] != "RECORD":
            self._message(message)
            return
        stream = message.get("stream")
        st = self._streams.get(stream) if isinstance(stream, str) else None
        record = message.get("record")
        if st is None or not isinstance(record, Mapping):
            self._bad_record(stream)
        msg: dict[str, Any] = {"record": record}
        te = message.get("time_extracted")
        if te is not None:
            msg["time_extracted"] = te.isoformat() if isinstance(te, datetime) else te
        try:
            data = _ENCODER.encode(msg)
        except (TypeError, ValueError) as exc:
            raise LoaderInputError(
                f"line {self.line_number}: RECORD for stream {stream!r} is not JSON "
                f"serialisable ({exc})"
            ) from None
        self._spool(st, data)  # type: ignore[arg-type]

    def flush(self) -> dict[str, Any] | None:
        """Commit all pending rows and the latest state in one transaction (blocking).

        Returns the state committed by this flush (None if no state was pending).
        """
        self._check_open()
        return self._flush_sync()

    def close(self) -> None:
        """Flush whatever is pending, then release the connection and spool files."""
        if self._closed:
            return
        try:
            self._check_open()  # a failed background flush must not look like success
            self._flush_sync()
            self._build_deferred_keys()
        finally:
            self._release()

    def abort(self) -> None:
        """Drop pending (uncommitted) rows and release resources; committed data stays.

        A flush already in flight is allowed to finish (it is a whole, valid batch).
        """
        if self._closed:
            return
        try:
            self._wait()
        except BaseException as exc:  # already failed: nothing more to lose
            log.debug("background flush failed during abort: %s", exc)
        try:
            self._build_deferred_keys()
        except Exception as exc:  # the next loader on this warehouse builds them
            log.warning("primary keys left for the next run to build: %s", exc)
        finally:
            self._release()

    def stats_table(self) -> str:
        """Human-readable per-stream stats for the runner's log."""
        head = f"{'stream':<32} {'records':>10} {'inserted':>10} {'updated':>10} "
        head += f"{'deleted':>8} {'quarant.':>8} {'seconds':>8}"
        rows = [head]
        for name, s in sorted(self.stats.items()):
            rows.append(
                f"{name:<32} {s.records:>10} {s.inserted:>10} {s.updated:>10} "
                f"{s.deleted:>8} {s.quarantined:>8} {s.seconds:>8.2f}"
            )
        return "\n".join(rows)

    # ------------------------------------------------------------------ messages

    def _check_open(self) -> None:
        if self._closed:
            raise LoaderError("loader is closed")
        if self._failed is not None:
            raise LoaderError(f"an earlier flush failed and was rolled back: {self._failed}")

    def _bad_record(self, stream: object) -> NoReturn:
        if not stream:
            raise LoaderInputError(f"line {self.line_number}: RECORD without 'stream'")
        if stream not in self._streams:
            raise LoaderInputError(
                f"line {self.line_number}: RECORD for stream {stream!r} before any SCHEMA for it"
            )
        raise LoaderInputError(
            f"line {self.line_number}: RECORD for stream {stream!r} has no JSON object in 'record'"
        )

    def _spool(self, st: _Stream, data: bytes) -> None:
        self._seq += 1
        spool = st.spool
        if spool is None:
            spool = st.spool = st.spool_path.open("wb", buffering=1 << 20)
        spool.write(
            b'{"__cx_seq":%d,"__cx_rcv":%d,"m":%b}\n'
            % (self._seq, time.time_ns() // 1_000_000, data)
        )
        st.pending_rows += 1
        st.stats.records += 1
        if st.pending_rows >= self.batch_size_rows:
            self._flush_async()

    def _message(self, msg: Mapping[str, Any]) -> None:
        mtype = msg.get("type")
        if mtype == "SCHEMA":
            self._schema(msg)
        elif mtype == "STATE":
            self._pending_state = msg.get("value")
            self._state_dirty = True
        elif mtype == "BATCH":
            self._batch(msg)
        elif mtype == "ACTIVATE_VERSION":
            log.info("ignoring ACTIVATE_VERSION for stream %r", msg.get("stream"))
        elif mtype == "RECORD":
            self.line_number -= 1
            self.process(msg)
        else:
            log.warning("line %d: ignoring unknown message type %r", self.line_number, mtype)

    def _schema(self, msg: Mapping[str, Any]) -> None:
        name = msg.get("stream")
        schema = msg.get("schema")
        where = f"line {self.line_number}: SCHEMA for stream {name!r}"
        if not isinstance(name, str) or not name:
            raise LoaderInputError(f"line {self.line_number}: SCHEMA without 'stream'")
        if not isinstance(schema, Mapping) or not isinstance(schema.get("properties", {}), Mapping):
            raise LoaderInputError(f"{where} has no valid 'schema.properties'")
        props: Mapping[str, Any] = schema.get("properties") or {}
        keys = list(msg.get("key_properties") or [])
        missing = [k for k in keys if k not in props]
        if missing:
            raise LoaderInputError(f"{where}: key properties {missing} not in properties")
        reserved = sorted(set(props) & _RESERVED)
        if reserved:
            raise LoaderInputError(f"{where}: property names {reserved} are reserved")
        lowered: dict[str, str] = {}
        for p in props:
            if p.lower() in lowered:
                raise LoaderInputError(
                    f"{where}: properties {lowered[p.lower()]!r} and {p!r} differ only in "
                    "case (DuckDB column names are case-insensitive)"
                )
            lowered[p.lower()] = p
        if DELETED_PROPERTY in keys:
            raise LoaderInputError(f"{where}: {DELETED_PROPERTY} cannot be a key property")
        fingerprint = _ENCODER.encode([schema, keys])
        st = self._streams.get(name)
        if st is not None and st.schema_fingerprint == fingerprint:
            return
        if st is not None and (st.pending_rows or st.batch_files):
            self._flush_sync()  # rows already spooled belong to the previous schema
        columns = ct.columns_for_schema(props, exclude=(DELETED_PROPERTY,))
        constraints = ct.constraints_for_schema(props, exclude=(DELETED_PROPERTY,))
        if st is None:
            idx = len(self._streams)
            st = _Stream(
                name=name,
                index=idx,
                key_properties=keys,
                columns=columns,
                schema_fingerprint=fingerprint,
                spool_path=self._spool_root / f"{idx:04d}-0.jsonl",
                stats=self.stats.setdefault(name, StreamStats()),
                constraints=constraints,
            )
            self._streams[name] = st
        else:
            st.key_properties, st.columns, st.schema_fingerprint = keys, columns, fingerprint
            st.constraints = constraints
            st.ddl_pending = True

    def _batch(self, msg: Mapping[str, Any]) -> None:
        name = msg.get("stream")
        st = self._streams.get(name) if isinstance(name, str) else None
        where = f"line {self.line_number}: BATCH for stream {name!r}"
        if st is None:
            raise LoaderInputError(f"{where} before any SCHEMA for it")
        enc = msg.get("encoding")
        enc = enc if isinstance(enc, Mapping) else {}
        fmt = enc.get("format")
        compression = enc.get("compression") or "none"
        if fmt != "jsonl":
            raise LoaderInputError(f"{where}: unsupported encoding format {fmt!r} (only jsonl)")
        if compression not in ("gzip", "none"):
            raise LoaderInputError(f"{where}: unsupported compression {compression!r}")
        manifest = msg.get("manifest")
        if not isinstance(manifest, list):
            raise LoaderInputError(f"{where}: 'manifest' must be a list of file URIs")
        rcv = time.time_ns() // 1_000_000
        files = []
        for uri in manifest:
            path = _path_from_uri(str(uri))
            if not path.is_file():
                raise LoaderInputError(f"{where}: manifest file {str(path)!r} does not exist")
            files.append((path, compression, rcv))
        st.batch_files.extend(files)
        self._flush_sync()

    # ------------------------------------------------------------------ flushing

    def _create_base_tables(self) -> None:
        s = _q(self.schema)
        self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        self._con.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.{_q(QUARANTINE_TABLE)} ("
            "stream VARCHAR NOT NULL, payload JSON, error VARCHAR NOT NULL, "
            "loaded_at TIMESTAMPTZ NOT NULL)"
        )
        self._con.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.{_q(STATE_TABLE)} ("
            "state_key VARCHAR PRIMARY KEY, state JSON, committed_at TIMESTAMPTZ)"
        )
        self._con.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.{_q(DEFERRED_KEYS_TABLE)} ("
            "table_name VARCHAR PRIMARY KEY, key_columns VARCHAR[] NOT NULL)"
        )

    def _build_deferred_keys(self) -> None:
        """Give every table listed in `_deferred_keys` its primary key: keep the last row
        per key (rowid order is load order: these tables were only appended to), then build
        the index and delete the listing. Two transactions, since DuckDB builds the index
        from committed rows; a run killed in between finds the listing and redoes the
        second (the first then finds nothing to remove)."""
        s = _q(self.schema)
        listed = self._con.execute(
            f"SELECT table_name, key_columns FROM {s}.{_q(DEFERRED_KEYS_TABLE)} ORDER BY 1"
        ).fetchall()
        for name, keys in listed:
            fq = f"{s}.{_q(name)}"
            part = ", ".join(_q(k) for k in keys)
            self._con.execute("BEGIN TRANSACTION")
            try:
                replaced = 0
                if self._has_repeated_keys(fq, part):
                    replaced = self._con.execute(
                        f"DELETE FROM {fq} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
                        f"row_number() OVER (PARTITION BY {part} ORDER BY rowid DESC) AS n "
                        f"FROM {fq}) WHERE n > 1)"
                    ).fetchone()[0]  # type: ignore[index]
                self._con.execute("COMMIT")
                self._con.execute("BEGIN TRANSACTION")
                self._con.execute(f"ALTER TABLE {fq} ADD PRIMARY KEY ({part})")
                self._con.execute(
                    f"DELETE FROM {s}.{_q(DEFERRED_KEYS_TABLE)} WHERE table_name = ?", [name]
                )
                self._con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    self._con.execute("ROLLBACK")
                raise
            self._tables.pop(name, None)
            stream = self._streams.get(name)
            if stream is not None and replaced:
                # rows appended for keys an earlier flush had loaded: updates, not inserts
                stream.stats.inserted -= replaced
                stream.stats.updated += replaced
            log.info("%s: primary key (%s) built; %d older rows replaced", fq, part, replaced)

    def _has_repeated_keys(self, fq: str, part: str) -> bool:
        count, distinct = self._con.execute(
            f"SELECT count(*), count(DISTINCT ({part})) FROM {fq}"
        ).fetchone()  # type: ignore[misc]
        return bool(count != distinct)

    def _take_job(self) -> _Job | None:
        """Detach all pending work (spools, BATCH files, DDL, state) into a job.

        New records go to fresh spool files, so the job's files are immutable.
        """
        jobs: list[_StreamJob] = []
        for st in self._streams.values():
            if not (st.pending_rows or st.batch_files or st.ddl_pending):
                continue
            if st.spool is not None:
                st.spool.close()
                st.spool = None
            jobs.append(
                _StreamJob(
                    stream=st,
                    columns=dict(st.columns),
                    key_properties=list(st.key_properties),
                    spool_path=st.spool_path,
                    spool_rows=st.pending_rows,
                    batch_files=list(st.batch_files),
                    constraints=st.constraints,
                )
            )
            st.generation += 1
            st.spool_path = self._spool_root / f"{st.index:04d}-{st.generation}.jsonl"
            st.pending_rows = 0
            st.batch_files.clear()
            st.ddl_pending = False
        if not jobs and not self._state_dirty:
            return None
        job = _Job(jobs, self._pending_state, self._state_dirty, self._seq)
        self._state_dirty = False
        return job

    def _wait(self) -> None:
        """Wait for the in-flight background flush; re-raise its failure."""
        fut, self._inflight = self._inflight, None
        if fut is not None:
            fut.result()

    def _flush_sync(self) -> dict[str, Any] | None:
        self._wait()
        job = self._take_job()
        if job is None:
            return None
        self._run(job)
        return job.state if job.state_dirty else None

    def _flush_async(self) -> None:
        self._wait()  # back-pressure: at most one flush in flight
        job = self._take_job()
        if job is None:
            return
        if self._executor is None:
            self._run(job)
        else:
            self._inflight = self._executor.submit(self._run, job)

    def _run(self, job: _Job) -> None:
        """Run one flush transaction; on success update stats, then emit the state."""
        loaded_at = datetime.now(UTC)
        results: list[tuple[_StreamJob, _Counts, float]] = []
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            for sj in job.streams:
                t0 = time.perf_counter()
                table = self._ensure_table(sj)
                counts = _Counts()
                if sj.spool_rows or sj.batch_files:
                    counts = self._load(sj, table, loaded_at, job.seq_base)
                results.append((sj, counts, time.perf_counter() - t0))
            if job.state_dirty:
                con.execute(
                    f"INSERT OR REPLACE INTO {_q(self.schema)}.{_q(STATE_TABLE)} "
                    "VALUES (?, ?::JSON, ?)",
                    [self.state_key, json.dumps(job.state), loaded_at],
                )
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._tables.clear()
            self._failed = exc
            if isinstance(exc, duckdb.Error):
                raise LoaderError(f"flush failed and was rolled back: {exc}") from exc
            raise
        for sj, c, secs in results:
            stats = sj.stream.stats
            if c.batch_rows:  # only sync (BATCH) flushes; the main thread counts RECORDs
                stats.records += c.batch_rows
            stats.inserted += c.inserted
            stats.updated += c.updated
            stats.deleted += c.deleted
            stats.quarantined += c.quarantined
            stats.seconds += secs
            sj.spool_path.unlink(missing_ok=True)
            if sj.spool_rows or sj.batch_files:
                stats.flushes += 1
                log.info(
                    "%s.%s: %d inserted, %d updated, %d deleted, %d quarantined in %.2fs",
                    self.schema,
                    sj.stream.name,
                    c.inserted,
                    c.updated,
                    c.deleted,
                    c.quarantined,
                    secs,
                )
        if job.state_dirty:
            self.committed_state = job.state
            if self.on_state is not None and job.state is not None:
                self.on_state(job.state)

    def _describe(self, table: str) -> _Table | None:
        rows = self._con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [self.schema, table],
        ).fetchall()
        if not rows:
            return None
        keys_row = self._con.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
            [self.schema, table],
        ).fetchone()
        cols = {n: ct.canonical_type(t) for n, t in rows if n not in META_COLUMNS}
        if keys_row:
            return _Table(columns=cols, keys=list(keys_row[0]))
        deferred = self._con.execute(
            f"SELECT key_columns FROM {_q(self.schema)}.{_q(DEFERRED_KEYS_TABLE)} "
            "WHERE table_name = ?",
            [table],
        ).fetchone()
        if deferred:
            return _Table(columns=cols, keys=list(deferred[0]), key_deferred=True)
        return _Table(columns=cols, keys=[])

    def _ensure_table(self, sj: _StreamJob) -> _Table:
        """Create or evolve ``<schema>.<stream>`` so it can hold the job's schema."""
        name = sj.stream.name
        table = self._tables.get(name)
        if table is not None and all(
            c in table.columns and ct.widen(table.columns[c], t) == table.columns[c]
            for c, t in sj.columns.items()
        ):
            return table  # cached shape already holds this schema
        table = self._describe(name)
        fq = f"{_q(self.schema)}.{_q(name)}"
        if table is None:
            keys = sj.key_properties
            cols = [f"{_q(c)} {t}{' NOT NULL' if c in keys else ''}" for c, t in sj.columns.items()]
            cols += [f"{_q(c)} {t}" for c, t in META_COLUMNS.items()]
            self._con.execute(f"CREATE TABLE {fq} ({', '.join(cols)})")
            if keys:  # built when the loader closes: see the module docstring
                self._con.execute(
                    f"INSERT INTO {_q(self.schema)}.{_q(DEFERRED_KEYS_TABLE)} VALUES (?, ?)",
                    [name, list(keys)],
                )
            table = _Table(columns=dict(sj.columns), keys=list(keys), key_deferred=bool(keys))
        else:
            if [k.lower() for k in table.keys] != [k.lower() for k in sj.key_properties]:
                log.warning(
                    "%s: key_properties %s differ from the table's primary key %s; "
                    "keeping the table's key",
                    fq,
                    sj.key_properties,
                    table.keys,
                )
            key_set = {k.lower() for k in table.keys}
            by_lower = {c.lower(): c for c in table.columns}
            rebuild = False
            for prop, want in sj.columns.items():
                actual = by_lower.get(prop.lower())
                if actual is None:
                    self._con.execute(f"ALTER TABLE {fq} ADD COLUMN {_q(prop)} {want}")
                    table.columns[prop] = want
                    by_lower[prop.lower()] = prop
                    continue
                have = table.columns[actual]
                eff = ct.widen(have, want)
                if eff == have:
                    continue
                if actual.lower() in key_set:
                    rebuild = True  # DuckDB cannot ALTER TYPE a primary-key column
                else:
                    self._con.execute(f"ALTER TABLE {fq} ALTER COLUMN {_q(actual)} TYPE {eff}")
                log.warning("%s: widened column %s from %s to %s", fq, actual, have, eff)
                table.columns[actual] = eff
            if rebuild:
                self._rebuild(name, table)
        self._tables[name] = table
        return table

    def _rebuild(self, name: str, table: _Table) -> None:
        """Recreate a table whose key column must change type (same columns and rows)."""
        s = _q(self.schema)
        tmp = _q(f"{name}__cx_rebuild")
        key_set = {k.lower() for k in table.keys}
        cols = [
            f"{_q(c)} {t}{' NOT NULL' if c.lower() in key_set else ''}"
            for c, t in table.columns.items()
        ]
        cols += [f"{_q(c)} {t}" for c, t in META_COLUMNS.items()]
        if not table.key_deferred:
            cols.append(f"PRIMARY KEY ({', '.join(_q(k) for k in table.keys)})")
        self._con.execute(f"CREATE TABLE {s}.{tmp} ({', '.join(cols)})")
        select = ", ".join(
            [f"CAST({_q(c)} AS {t}) AS {_q(c)}" for c, t in table.columns.items()]
            + [_q(c) for c in META_COLUMNS]
        )
        self._con.execute(f"INSERT INTO {s}.{tmp} BY NAME SELECT {select} FROM {s}.{_q(name)}")
        self._con.execute(f"DROP TABLE {s}.{_q(name)}")
        self._con.execute(f"ALTER TABLE {s}.{tmp} RENAME TO {_q(name)}")

    def _load(self, sj: _StreamJob, table: _Table, loaded_at: datetime, seq_base: int) -> _Counts:
        """Stage, validate, quarantine and upsert one stream's pending rows."""
        con = self._con
        fq = f"{_q(self.schema)}.{_q(sj.stream.name)}"
        by_lower = {c.lower(): c for c in table.columns}
        # JSON property name -> effective (possibly widened) column type
        props = {p: table.columns[by_lower[p.lower()]] for p in sj.columns}
        for key in table.keys:  # a key dropped from the schema must still be read
            if key.lower() not in {p.lower() for p in props}:
                props[key] = table.columns[key]
        keys = [next(p for p in props if p.lower() == k.lower()) for k in table.keys]

        # Stage: every property as text (JSON for JSON columns) plus an error column
        # naming each value that fails its TRY_CAST, computed set-wise while parsing.
        rec_fields = {DELETED_PROPERTY: ct.VARCHAR}
        rec_fields.update({p: ct.stage_type(t) for p, t in props.items()})
        checks = [
            f"CASE WHEN {_q(k)} IS NULL THEN {_lit(f'key property {k!r} is null or missing')} END"
            for k in keys
        ]
        checks += [
            _check_expr(p, t)
            for p, t in [*props.items(), (DELETED_PROPERTY, ct.TIMESTAMPTZ)]
            if t not in (ct.VARCHAR, ct.JSON)
        ]
        checks += [
            check
            for p, t in props.items()
            for check in _constraint_checks(p, t, sj.constraints.get(p, {}))
        ]
        err = f"concat_ws('; ', {', '.join(checks)})" if checks else "''"
        casts = "".join(f"{_cast_expr(p, t)} AS {_q(p)}, " for p, t in props.items())
        if not sj.spool_rows and len(sj.batch_files) == 1:
            counts = self._load_clean_file(
                sj, fq, keys, props, rec_fields, err, casts, loaded_at, table.key_deferred
            )
            if counts is not None:
                return counts
        stage_cols = ", ".join(f"{_q(c)} {t}" for c, t in rec_fields.items())
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __cx_stage (__cx_seq BIGINT, __cx_rcv BIGINT, "
            f"__cx_ext VARCHAR, {stage_cols}, __cx_err VARCHAR, __cx_src INTEGER)"
        )
        record_type = "STRUCT(" + ", ".join(f"{_q(c)} {t}" for c, t in rec_fields.items()) + ")"

        def stage(src: int, inner: str) -> None:
            con.execute(
                f"INSERT INTO __cx_stage BY NAME SELECT *, {err} AS __cx_err, "
                f"{src} AS __cx_src FROM ({inner})"
            )

        if sj.spool_rows:
            spool_cols = {
                "__cx_seq": "BIGINT",
                "__cx_rcv": "BIGINT",
                "m": f"STRUCT(time_extracted VARCHAR, record {record_type})",
            }
            stage(
                0,
                "SELECT __cx_seq, __cx_rcv, m.time_extracted AS __cx_ext, unnest(m.record) "
                f"FROM {_read_json(sj.spool_path, spool_cols, 'none')}",
            )
        for i, (path, compression, rcv) in enumerate(sj.batch_files, start=1):
            stage(
                i,
                f"SELECT NULL::BIGINT AS __cx_seq, {int(rcv)}::BIGINT AS __cx_rcv, "
                f"NULL::VARCHAR AS __cx_ext, * FROM {_read_json(path, rec_fields, compression)}",
            )
        n_rows, n_bad = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE __cx_err <> '') FROM __cx_stage"
        ).fetchone()  # type: ignore[misc]
        if n_bad:
            self._quarantine(sj, loaded_at)

        # Upsert valid rows; the last per key wins (spool sequence, then BATCH file order:
        # DuckDB inserts in scan order, so the stage rowid follows the files' line order).
        qualify = ""
        if keys:
            part = ", ".join(_cast_expr(k, props[k]) for k in keys)
            qualify = (
                f"QUALIFY row_number() OVER (PARTITION BY {part} "
                f"ORDER BY COALESCE(__cx_seq, {seq_base + 1} + rowid) DESC) = 1"
            )
        before = con.execute(f"SELECT count(*) FROM {fq}").fetchone()[0]  # type: ignore[index]
        upsert = bool(keys) and not table.key_deferred
        written = con.execute(
            f"{'INSERT OR REPLACE' if upsert else 'INSERT'} INTO {fq} BY NAME SELECT {casts}"
            "COALESCE(TRY_CAST(__cx_ext AS TIMESTAMPTZ), to_timestamp(__cx_rcv / 1000.0)) "
            f"AS _extracted_at, TRY_CAST({_q(DELETED_PROPERTY)} AS TIMESTAMPTZ) AS _deleted_at, "
            f"?::TIMESTAMPTZ AS _loaded_at FROM __cx_stage WHERE __cx_err = '' {qualify}",
            [loaded_at],
        ).fetchone()[0]  # type: ignore[index]
        after = con.execute(f"SELECT count(*) FROM {fq}").fetchone()[0]  # type: ignore[index]
        # A query of its own: `_loaded_at` is then checked against row-group statistics and
        # only the row groups this flush wrote are read, not the whole table.
        n_deleted = con.execute(
            f"SELECT count(*) FROM {fq} WHERE _loaded_at = ? AND _deleted_at IS NOT NULL",
            [loaded_at],
        ).fetchone()[0]  # type: ignore[index]
        con.execute("DROP TABLE __cx_stage")
        inserted = after - before
        return _Counts(inserted, written - inserted, n_deleted, n_bad, n_rows - sj.spool_rows)

    def _load_clean_file(
        self,
        sj: _StreamJob,
        fq: str,
        keys: list[str],
        props: Mapping[str, str],
        rec_fields: Mapping[str, str],
        err: str,
        casts: str,
        loaded_at: datetime,
        key_deferred: bool,
    ) -> _Counts | None:
        """Fast path for a flush that is one BATCH file: when every row is valid and every
        key occurs once (the usual case), upsert from one typed read of the file; else
        None, and the staged path takes over.

        Why: parsing the JSON is most of a flush's cost, so the file is parsed once, into
        a temporary table already cast and checked, and both the checks and the upsert
        read that. When none of the file's keys is in the table yet (new events), or the
        table's key is still deferred (a table this loader created: not looked for), a plain
        INSERT is used: it skips INSERT OR REPLACE's per-row index probe and delete. Once a stream's flush finds keys it already holds (an incremental sync
        of mutable rows), later flushes of that stream upsert without looking first.
        The rows, casts and checks are the staged path's, so the outcome is too.
        """
        con = self._con
        path, compression, rcv = sj.batch_files[0]
        source = _read_json(path, rec_fields, compression)
        deleted = f"TRY_CAST({_q(DELETED_PROPERTY)} AS TIMESTAMPTZ)"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __cx_clean AS SELECT {casts}{deleted} AS __cx_deleted, "
            f"{err} AS __cx_err FROM {source}"
        )
        try:
            distinct = f"count(DISTINCT ({', '.join(_q(k) for k in keys)}))" if keys else "count(*)"
            n_rows, n_bad, n_keys, n_deleted = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE __cx_err <> ''), {distinct}, "
                "count(__cx_deleted) FROM __cx_clean"
            ).fetchone()  # type: ignore[misc]
            if n_bad or n_keys != n_rows:
                return None
            replace = (
                bool(keys)
                and not key_deferred
                and (sj.stream.holds_loaded_keys or self._holds_any_key(fq, keys))
            )
            sj.stream.holds_loaded_keys = replace
            columns = ", ".join(_q(p) for p in props)
            before = con.execute(f"SELECT count(*) FROM {fq}").fetchone()[0]  # type: ignore[index]
            con.execute(
                f"{'INSERT OR REPLACE' if replace else 'INSERT'} INTO {fq} BY NAME "
                f"SELECT {columns}, to_timestamp({int(rcv)} / 1000.0) AS _extracted_at, "
                "__cx_deleted AS _deleted_at, ?::TIMESTAMPTZ AS _loaded_at FROM __cx_clean",
                [loaded_at],
            )
            after = con.execute(f"SELECT count(*) FROM {fq}").fetchone()[0]  # type: ignore[index]
        finally:
            con.execute("DROP TABLE IF EXISTS __cx_clean")
        inserted = after - before
        return _Counts(inserted, n_rows - inserted, n_deleted, 0, n_rows)

    def _holds_any_key(self, fq: str, keys: list[str]) -> bool:
        """Whether the table already holds any key of `__cx_clean` (one hash join over the
        table's key columns: far cheaper than an upsert's probe and delete per row)."""
        match = " AND ".join(f"c.{_q(k)} = t.{_q(k)}" for k in keys)
        return bool(
            self._con.execute(
                f"SELECT EXISTS (SELECT 1 FROM __cx_clean c JOIN {fq} t ON {match})"
            ).fetchone()[0]  # type: ignore[index]
        )

    def _quarantine(self, sj: _StreamJob, loaded_at: datetime) -> None:
        """Copy rejected rows with their original record JSON to ``_quarantine``.

        Rare path, so it re-reads the source files: spool rows are matched by sequence
        number, BATCH rows by their position in the file (rowids are in insertion order
        but start at an arbitrary base inside a transaction, hence ``rowid - min(rowid)``).
        """
        con = self._con
        qt = f"{_q(self.schema)}.{_q(QUARANTINE_TABLE)}"
        if sj.spool_rows:
            con.execute(
                f"INSERT INTO {qt} SELECT ?, r.json->'$.m.record', s.__cx_err, ? "
                "FROM __cx_stage s JOIN (SELECT json, CAST(json->>'__cx_seq' AS BIGINT) AS seq "
                f"FROM {_read_objects(sj.spool_path, 'none')}) r ON r.seq = s.__cx_seq "
                "WHERE s.__cx_src = 0 AND s.__cx_err <> '' ORDER BY s.__cx_seq",
                [sj.stream.name, loaded_at],
            )
        for i, (path, compression, _rcv) in enumerate(sj.batch_files, start=1):
            bad = con.execute(
                "SELECT count(*) FROM __cx_stage WHERE __cx_src = ? AND __cx_err <> ''", [i]
            ).fetchone()[0]  # type: ignore[index]
            if not bad:
                continue
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __cx_raw AS SELECT json FROM "
                f"{_read_objects(path, compression)}"
            )
            con.execute(
                f"INSERT INTO {qt} SELECT ?, r.json, s.__cx_err, ? FROM "
                "(SELECT __cx_err, rowid - min(rowid) OVER () AS pos FROM __cx_stage "
                " WHERE __cx_src = ?) s JOIN (SELECT json, rowid - min(rowid) OVER () AS pos "
                "FROM __cx_raw) r "
                "USING (pos) WHERE s.__cx_err <> '' ORDER BY pos",
                [sj.stream.name, loaded_at, i],
            )
            con.execute("DROP TABLE __cx_raw")

    # ------------------------------------------------------------------ cleanup

    def _release(self) -> None:
        self._closed = True
        if self._inflight is not None:  # only after a failure elsewhere
            with contextlib.suppress(BaseException):
                self._inflight.result()
            self._inflight = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        for st in self._streams.values():
            if st.spool is not None:
                st.spool.close()
                st.spool = None
        shutil.rmtree(self._spool_root, ignore_errors=True)
        with contextlib.suppress(duckdb.Error):
            self._con.close()


def _read_json(path: Path, columns: Mapping[str, str], compression: str) -> str:
    struct = "{" + ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in columns.items()) + "}"
    return (
        f"read_json({_lit(str(path))}, format='newline_delimited', records='true', "
        f"columns={struct}, compression={_lit(compression)}, "
        f"maximum_object_size={_MAX_OBJECT_BYTES})"
    )


def _read_objects(path: Path, compression: str) -> str:
    return (
        f"read_ndjson_objects({_lit(str(path))}, compression={_lit(compression)}, "
        f"maximum_object_size={_MAX_OBJECT_BYTES})"
    )


def _check_expr(prop: str, typ: str) -> str:
    """SQL yielding an error text when a non-null staged value does not fit ``typ``."""
    c = _q(prop)
    ok = f"TRY_CAST({c} AS {typ}) IS NOT NULL"
    if typ == ct.BIGINT:  # DuckDB rounds '1.5' to 2; a fractional value is not an integer
        ok += (
            f" AND NOT (contains({c}, '.') AND TRY_CAST({c} AS DOUBLE) <> TRY_CAST({c} AS BIGINT))"
        )
    msg_head = _lit(f"field {prop!r}: value '")
    msg_tail = _lit(f"' is not a valid {typ}")
    return (
        f"CASE WHEN {c} IS NOT NULL AND NOT ({ok}) "
        f"THEN {msg_head} || left({c}, {_ERR_VALUE_CHARS}) || {msg_tail} END"
    )


_LIMITS = {
    "minimum": ("<", "is below the minimum"),
    "exclusiveMinimum": ("<=", "is not above the exclusive minimum"),
    "maximum": (">", "is above the maximum"),
    "exclusiveMaximum": (">=", "is not below the exclusive maximum"),
}


def _constraint_checks(prop: str, typ: str, limits: Mapping[str, float]) -> list[str]:
    """SQL yielding an error text when a staged value breaks its schema's ``minimum``/
    ``maximum`` (numeric columns) or ``maxLength`` (text columns); values that fail their
    cast are reported by ``_check_expr`` instead."""
    c = _q(prop)
    checks = []
    if typ in (ct.BIGINT, ct.DOUBLE, ct.DECIMAL):
        for keyword, (op, words) in _LIMITS.items():
            if keyword in limits:
                limit = json.dumps(limits[keyword])
                head = _lit(f"field {prop!r}: value ")
                checks.append(
                    f"CASE WHEN TRY_CAST({c} AS DOUBLE) {op} {limit} "
                    f"THEN {head} || left({c}, {_ERR_VALUE_CHARS}) || {_lit(f' {words} {limit}')} END"
                )
    if typ == ct.VARCHAR and "maxLength" in limits:
        limit = int(limits["maxLength"])
        head = _lit(f"field {prop!r}: text of ")
        tail = _lit(f" characters is longer than maxLength {limit}")
        checks.append(f"CASE WHEN length({c}) > {limit} THEN {head} || length({c}) || {tail} END")
    return checks


def _cast_expr(prop: str, typ: str) -> str:
    c = _q(prop)
    if typ in (ct.VARCHAR, ct.JSON):
        return c
    return f"TRY_CAST({c} AS {typ})"
