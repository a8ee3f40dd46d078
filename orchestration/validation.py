"""Great Expectations at run time: validate DataFrames read from DuckDB against committed suites.

Facts this module is built on (GX 1.24): there is no DuckDB datasource and the generic SQL
route through duckdb-engine fails every expectation, so each table (or, for large append-only
tables, only the rows loaded since the last good validation) is read from DuckDB into a pandas
DataFrame and validated through a pandas dataframe asset with ``batch_parameters``.

Suites are authored once as code (``expectations/author_suites.py``) and committed as JSON under
``expectations/gx/``. At run time the committed context is mirrored into the workspace
(``<data_dir>/gx``, so validation results and Data Docs never touch the repository) and only
``checkpoints.get(name).run(...)`` is called: nothing is added or updated.

Each suite's ``meta.cx360`` says what to validate::

    {"table": "raw_zendesk.tickets", "asset_key": ["raw_zendesk", "tickets"], "layer": "raw",
     "query": "select ... from raw_zendesk.tickets", "key": ["id"], "scope": "table",
     "references": [["raw_zendesk", "users"]], "blocking": true, "allow_empty": false}

Run-time parameters: ``now`` (the reference instant: the sandbox clock or the wall clock),
``min_rows``/``max_rows`` (volume within the bounds of recent loads, from the history kept in
the warehouse schema ``_cx360_quality``).
"""

from __future__ import annotations

import filecmp
import itertools
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration.constants import GX_DIR

log = logging.getLogger(__name__)

HISTORY_SCHEMA = "_cx360_quality"
HISTORY_TABLE = f"{HISTORY_SCHEMA}.validations"
NOW_TOLERANCE = timedelta(minutes=5)
"""Clock skew allowed between the source's clock and the reference now."""
SAMPLE_ROWS = 5
_COMMITTED = ("great_expectations.yml", "expectations", "checkpoints", "validation_definitions")


@dataclass(frozen=True)
class SuiteSpec:
    """What one committed suite validates (read from its JSON without importing GX)."""

    name: str
    table: str
    asset_key: tuple[str, ...]
    layer: str
    query: str
    key: tuple[str, ...] = ()
    scope: str = "table"
    references: tuple[tuple[str, ...], ...] = ()
    blocking: bool = True
    allow_empty: bool = False
    expectations: int = 0
    description: str = ""


def load_suite_specs(gx_dir: Path = GX_DIR) -> list[SuiteSpec]:
    specs = []
    for path in sorted((gx_dir / "expectations").glob("*.json")):
        suite = json.loads(path.read_text())
        meta = suite.get("meta", {}).get("cx360")
        if not meta:
            continue
        specs.append(
            SuiteSpec(
                name=suite["name"],
                table=meta["table"],
                asset_key=tuple(meta["asset_key"]),
                layer=meta.get("layer", "raw"),
                query=meta["query"],
                key=tuple(meta.get("key", ())),
                scope=meta.get("scope", "table"),
                references=tuple(tuple(ref) for ref in meta.get("references", ())),
                blocking=bool(meta.get("blocking", True)),
                allow_empty=bool(meta.get("allow_empty", False)),
                expectations=len(suite.get("expectations", [])),
                description=meta.get("description", ""),
            )
        )
    return specs


# --- the workspace copy of the committed context --------------------------------------------

_contexts: dict[Path, Any] = {}
_context_lock = threading.Lock()


def _mirror(source: Path, target: Path) -> bool:
    """Copy the committed parts of the GX context to `target`; True if anything changed."""
    changed = False
    target.mkdir(parents=True, exist_ok=True)
    for name in _COMMITTED:
        src, dst = source / name, target / name
        if src.is_file():
            if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
                shutil.copy2(src, dst)
                changed = True
            continue
        if not src.is_dir():
            continue
        wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
        present = (
            {p.relative_to(dst) for p in dst.rglob("*") if p.is_file()} if dst.exists() else set()
        )
        for rel in present - wanted:
            (dst / rel).unlink()
            changed = True
        for rel in wanted:
            s, d = src / rel, dst / rel
            if not d.exists() or not filecmp.cmp(s, d, shallow=False):
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, d)
                changed = True
    return changed


def get_context(data_dir: Path, gx_dir: Path = GX_DIR):
    """The file context mirrored from the repository into ``<data_dir>/gx`` (cached)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    root = Path(data_dir).resolve()
    with _context_lock:
        changed = _mirror(gx_dir, root / "gx")
        if changed or root not in _contexts:
            import great_expectations as gx

            _contexts[root] = gx.get_context(mode="file", project_root_dir=str(root))
        return _contexts[root]


# --- volume history in the warehouse --------------------------------------------------------


def _ensure_history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {HISTORY_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {HISTORY_TABLE} (
            suite varchar, validated_at timestamptz, success boolean, rows bigint,
            watermark timestamptz
        )
        """
    )


def _history(con: duckdb.DuckDBPyConnection, suite: str, limit: int = 10) -> list[tuple]:
    return con.execute(
        f"""
        select rows, watermark from {HISTORY_TABLE}
        where suite = ? and success order by validated_at desc limit ?
        """,
        [suite, limit],
    ).fetchall()


def volume_bounds(
    history: list[tuple], scope: str, allow_empty: bool, layer: str = "raw"
) -> tuple[int, int | None]:
    """(min_rows, max_rows) within the bounds of recent loads.

    Whole raw tables only grow (the loader upserts and soft-deletes), so they may not shrink
    below the last good count, nor jump by far more than recent growth; rebuilt marts may not
    halve nor more than double. New-row batches may not be
    far larger than recent batches. Without history: non-empty (unless allowed), no maximum.
    """
    floor = 0 if allow_empty else 1
    counts = [int(row[0]) for row in history]
    if not counts:
        return floor, None
    if scope == "new_rows":
        return 0, max(10 * max(counts), 10_000)
    previous = counts[0]
    if layer != "raw":  # marts are rebuilt, not appended: they may shrink, but not collapse
        return max(floor, previous // 2), 2 * previous + 1_000
    growth = [newer - older for newer, older in itertools.pairwise(counts)]
    slack = max(10 * max(growth, default=0), previous // 2, 1_000)
    return max(previous, floor), previous + slack


# --- validation -----------------------------------------------------------------------------


@dataclass
class ExpectationOutcome:
    type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    severity: str
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample_values: list[Any] = field(default_factory=list)
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "critical"

    def describe(self) -> str:
        what = self.type.replace("expect_", "").replace("_", " ")
        target = f"{self.column}: " if self.column else ""
        if self.error:
            return f"{target}{what} — error: {self.error}"
        detail = ""
        if self.unexpected_count:
            detail = f" — {self.unexpected_count} unexpected ({self.unexpected_percent or 0:.2f}%)"
        elif self.observed is not None:
            detail = f" — observed {self.observed}"
        return f"{target}{what}{detail}"


@dataclass
class TableValidation:
    suite: str
    table: str
    asset_key: list[str]
    layer: str
    success: bool
    blocking_failed: bool
    rows: int
    validated_at: str
    reference_now: str
    parameters: dict[str, Any]
    expectations: list[ExpectationOutcome]
    scope: str = "table"
    error: str | None = None
    data_docs: str | None = None

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["expectations"] = [asdict(e) for e in self.expectations]
        return payload

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> TableValidation:
        data = dict(payload)
        data["expectations"] = [ExpectationOutcome(**e) for e in data["expectations"]]
        return cls(**data)

    def summary(self) -> str:
        status = "passed" if self.success else ("FAILED" if self.blocking_failed else "warnings")
        failed = "; ".join(e.describe() for e in self.failed)
        return (
            f"{self.table}: {status} ({len(self.expectations)} expectations, {self.rows:,} rows)"
            + (f" — {failed}" if failed else "")
        )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        try:
            return _jsonable(value.item())
        except (ValueError, TypeError):
            pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _sample_rows(
    df, key: tuple[str, ...], index_list: list, limit: int = SAMPLE_ROWS
) -> list[dict]:
    """Whole rows for the first unexpected keys (GX returns key columns + the failing value)."""
    if not index_list:
        return []
    rows = []
    if key and all(isinstance(item, Mapping) for item in index_list):
        import pandas as pd

        wanted = pd.DataFrame([{k: item.get(k) for k in key} for item in index_list[:limit]])
        try:
            matched = df.merge(wanted.drop_duplicates(), on=list(key), how="inner").head(limit)
            rows = matched.to_dict(orient="records")
        except (KeyError, ValueError, TypeError):
            rows = [dict(item) for item in index_list[:limit]]
    else:
        positions = [i for i in index_list[:limit] if isinstance(i, int)]
        rows = df.iloc[positions].to_dict(orient="records") if positions else []
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows]


def _outcome(result: Any, df, key: tuple[str, ...]) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
    details = result.result or {}
    error = None
    if result.exception_info and result.exception_info.get("raised_exception"):
        error = str(result.exception_info.get("exception_message"))[:500]
    severity = getattr(config, "severity", None)
    severity = getattr(severity, "value", severity) or "critical"
    return ExpectationOutcome(
        type=config.type,
        column=kwargs.get("column"),
        kwargs=_jsonable({k: v for k, v in kwargs.items() if k != "value_set" or len(v) < 50}),
        success=bool(result.success),
        severity=str(severity),
        observed=_jsonable(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=_jsonable(details.get("unexpected_percent")),
        sample_values=_jsonable(details.get("partial_unexpected_list") or [])[:SAMPLE_ROWS],
        sample_rows=[]
        if result.success
        else _sample_rows(df, key, details.get("partial_unexpected_index_list") or []),
        error=error,
    )


def read_frame(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, since: datetime | None):
    if spec.scope == "new_rows":
        query = f"select * from ({spec.query}) as batch where _loaded_at > $since"
        return con.execute(query, {"since": since or datetime(1970, 1, 1, tzinfo=UTC)}).df()
    return con.execute(spec.query).df()


def validate(
    con: duckdb.DuckDBPyConnection,
    spec: SuiteSpec,
    *,
    data_dir: Path,
    now: datetime,
    record: bool = True,
    gx_dir: Path = GX_DIR,
) -> TableValidation:
    """Validate one suite's table; record the outcome (history in the warehouse, JSON on disk)."""
    validated_at = datetime.now(UTC)
    _ensure_history(con)
    history = _history(con, spec.name)
    since = history[0][1] if history and spec.scope == "new_rows" else None
    min_rows, max_rows = volume_bounds(history, spec.scope, spec.allow_empty, spec.layer)
    parameters = {"now": now + NOW_TOLERANCE, "min_rows": min_rows, "max_rows": max_rows}
    try:
        df = read_frame(con, spec, since)
    except duckdb.Error as error:
        outcome = TableValidation(
            suite=spec.name, table=spec.table, asset_key=list(spec.asset_key), layer=spec.layer,
            success=False, blocking_failed=spec.blocking, rows=0,
            validated_at=validated_at.isoformat(), reference_now=now.isoformat(),
            parameters=_jsonable(parameters), expectations=[], scope=spec.scope,
            error=f"cannot read {spec.table}: {str(error).splitlines()[0]}",
        )  # fmt: skip
        _save(outcome, data_dir)
        return outcome
    context = get_context(data_dir, gx_dir)
    result = context.checkpoints.get(spec.name).run(
        batch_parameters={"dataframe": df}, expectation_parameters=parameters
    )
    outcomes: list[ExpectationOutcome] = []
    data_docs = None
    for identifier, run_result in result.run_results.items():
        outcomes += [_outcome(r, df, spec.key) for r in run_result.results]
        data_docs = _validation_page(identifier)
    blocking_failed = any(o.blocking for o in outcomes) and spec.blocking
    outcome = TableValidation(
        suite=spec.name,
        table=spec.table,
        asset_key=list(spec.asset_key),
        layer=spec.layer,
        success=all(o.success for o in outcomes),
        blocking_failed=blocking_failed,
        rows=len(df),
        validated_at=validated_at.isoformat(),
        reference_now=now.isoformat(),
        parameters=_jsonable(parameters),
        expectations=outcomes,
        scope=spec.scope,
        data_docs=data_docs,
    )
    if record:
        watermark = None
        if "_loaded_at" in df.columns and len(df):
            watermark = df["_loaded_at"].max()
            watermark = (
                watermark.to_pydatetime() if hasattr(watermark, "to_pydatetime") else watermark
            )
        elif history:
            watermark = history[0][1]
        con.execute(
            f"insert into {HISTORY_TABLE} values (?, ?, ?, ?, ?)",
            [spec.name, validated_at, not blocking_failed, len(df), watermark],
        )
        _save(outcome, data_dir)
    return outcome


def _validation_page(identifier: Any) -> str | None:
    """Data Docs path (relative to the site root) of one validation result."""
    try:
        parts = identifier.to_tuple()
    except AttributeError:
        return None
    *suite, run_name, run_time, batch = parts
    return "validations/" + "/".join([*suite, run_name, run_time, batch]) + ".html"


def results_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "quality" / "results"


def _save(outcome: TableValidation, data_dir: Path) -> None:
    directory = results_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{outcome.suite}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(outcome.to_json(), indent=2, default=str))
    tmp.replace(path)


def load_results(data_dir: Path) -> list[TableValidation]:
    directory = results_dir(data_dir)
    if not directory.exists():
        return []
    return [
        TableValidation.from_json(json.loads(path.read_text()))
        for path in sorted(directory.glob("*.json"))
    ]


DATA_DOCS_RUNS_KEPT = 20


def prune_runs(store: Path, keep: int = DATA_DOCS_RUNS_KEPT) -> None:
    """Retention: keep the newest `keep` runs per suite (``<suite>/<run name>/<run time>/``)."""
    if not store.exists():
        return
    for suite in (p for p in store.iterdir() if p.is_dir()):
        runs = sorted((r for name in suite.iterdir() if name.is_dir() for r in name.iterdir()
                       if r.is_dir()), key=lambda r: r.name, reverse=True)  # fmt: skip
        for old in runs[keep:]:
            shutil.rmtree(old, ignore_errors=True)


def build_data_docs(data_dir: Path, keep_runs: int = DATA_DOCS_RUNS_KEPT) -> Path:
    """Build the GX Data Docs site in the workspace and make it readable offline.

    The site's templates pull Bootstrap, jQuery and Font Awesome from CDNs; offline those
    requests fail (and leave console errors), so every remote stylesheet and script is removed
    and a small local stylesheet takes their place. The pages are server-rendered HTML, so the
    content stays complete; :mod:`orchestration.quality_report` is the summary people read.
    Retention: the newest `keep_runs` validation results per suite are kept.
    """
    root = Path(data_dir).resolve() / "gx" / "uncommitted"
    site = root / "data_docs" / "local_site"
    for store in (root / "validations", site / "validations"):
        prune_runs(store, keep_runs)
    context = get_context(data_dir)
    context.build_data_docs()
    make_offline(site)
    return site / "index.html"


_OFFLINE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1rem 2rem;color:#1f2933}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid
#d9e2ec;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f0f4f8}a{color:#0b5cad}
.card{border:1px solid #d9e2ec;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}.fa,.fas,.far{display:none}
.collapse:not(.show){display:block}.d-none{display:none}nav{margin-bottom:1rem}
"""


def make_offline(site: Path) -> None:
    import re

    remote = re.compile(
        r"<link[^>]+href=\"https?://[^\"]+\"[^>]*>|<script[^>]+src=\"https?://[^\"]+\"[^>]*>\s*</script>",
        re.IGNORECASE,
    )
    css = site / "static" / "styles" / "cx360_offline.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(_OFFLINE_CSS)
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        cleaned = remote.sub("", text)
        # Inline scripts that need jQuery/bootstrap-table would throw without them.
        cleaned = re.sub(
            r"<script(?![^>]*src=)[^>]*>(?:(?!</script>).)*?(\$\(|jQuery|bootstrapTable)(?:(?!</script>).)*?</script>",
            "",
            cleaned,
            flags=re.DOTALL,
        )
        # remote images (logo, tracking pixel) and favicons GX links with wrong relative paths
        cleaned = re.sub(r"https?://great-expectations-web-assets[^'\")\s]*", "data:,", cleaned)
        cleaned = re.sub(r'(<link rel="shortcut icon" href=")[^"]*(")', r"\1data:,\2", cleaned)
        if "cx360_offline.css" not in cleaned:
            depth = len(page.relative_to(site).parts) - 1
            href = "../" * depth + "static/styles/cx360_offline.css"
            cleaned = cleaned.replace("</head>", f'<link rel="stylesheet" href="{href}"></head>', 1)
        if page == site / "index.html":
            cleaned = _with_static_index(site, cleaned)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")


def _with_static_index(site: Path, html: str) -> str:
    """GX fills its index tables with JavaScript (bootstrap-table); offline we list the pages."""
    import html as html_lib

    marker = "<!-- cx360 static index -->"
    if marker in html:
        html = html[: html.index(marker)] + html[html.index("</body>") :]
    validations = sorted(
        site.glob("validations/**/*.html"), key=lambda p: p.parent.name, reverse=True
    )
    latest: dict[str, Path] = {}
    for path in validations:  # newest first: keep the latest run per suite
        suite = path.relative_to(site / "validations").parts[0]
        latest.setdefault(suite, path)
    suites = sorted(site.glob("expectations/**/*.html"))
    items = [marker, "<div style='margin:1rem 0'><h3>Latest validation per suite</h3><ul>"]
    for suite, path in sorted(latest.items()):
        run = path.parent.name
        href = html_lib.escape(path.relative_to(site).as_posix())
        items.append(f"<li><a href='{href}'>{html_lib.escape(suite)}</a> <small>{run}</small></li>")
    items.append("</ul><h3>Expectation suites</h3><ul>")
    for path in suites:
        href = html_lib.escape(path.relative_to(site).as_posix())
        items.append(f"<li><a href='{href}'>{html_lib.escape(path.stem)}</a></li>")
    items.append(
        f"</ul><p><small>{len(validations)} validation results in total.</small></p></div>"
    )
    return html.replace("</body>", "".join(items) + "</body>", 1)


def validate_all(
    warehouse: Path, data_dir: Path, now: datetime, specs: Iterable[SuiteSpec] | None = None
) -> list[TableValidation]:
    """Every suite (outside Dagster: used by tests and the authoring script)."""
    outcomes = []
    with duckdb.connect(str(warehouse)) as con:
        for spec in specs if specs is not None else load_suite_specs():
            outcomes.append(validate(con, spec, data_dir=data_dir, now=now))
    return outcomes
