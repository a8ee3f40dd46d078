"""The quality report the CX team reads: one static, self-contained HTML page (no network).

Rendered from the latest validation result of every suite (``<data_dir>/quality/results``):
which table failed which expectation, how many rows, sample values and sample rows, with a link
to the GX Data Docs page of each validation when the site has been built.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path

from orchestration.validation import TableValidation, load_results

_CSS = """
:root{--ok:#1b7f3b;--bad:#b42318;--warn:#b54708;--muted:#52606d;--line:#d9e2ec}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
header{background:#102a43;color:#fff;padding:1.2rem 2rem}header h1{margin:0;font-size:1.5rem}
header p{margin:.3rem 0 0;color:#bcccdc}main{padding:1rem 2rem;max-width:1300px}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.card{background:#fff;border:1px solid var(--line);
border-radius:8px;padding:.8rem 1.2rem;min-width:150px}.card b{display:block;font-size:1.6rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f0f4f8}.pass{color:var(--ok);font-weight:600}.fail{color:var(--bad);font-weight:600}
.warn{color:var(--warn);font-weight:600}.muted{color:var(--muted)}code{font-size:.85rem}
details{background:#fff;border:1px solid var(--line);border-radius:8px;margin:.6rem 0;padding:.5rem 1rem}
summary{cursor:pointer;font-weight:600}.samples td{font-family:ui-monospace,monospace;font-size:.8rem;max-width:28rem;
overflow-wrap:anywhere}
"""


def _status(result: TableValidation) -> tuple[str, str]:
    if result.success:
        return "pass", "passed"
    if result.blocking_failed:
        return "fail", "FAILED (blocking)"
    return "warn", "warnings"


def _cell(value: object, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text)


def _samples(rows: list[dict]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])[:12]
    head = "".join(f"<th>{_cell(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f'<table class="samples"><tr>{head}</tr>{body}</table>'


def render(data_dir: Path, output: Path | None = None, data_docs_index: Path | None = None) -> Path:
    """Write the report; returns its path (default ``<data_dir>/reports/quality/index.html``)."""
    data_dir = Path(data_dir)
    output = output or data_dir / "reports" / "quality" / "index.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    results = sorted(load_results(data_dir), key=lambda r: (r.layer != "raw", r.table))
    docs = (
        data_docs_index
        or data_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    )
    docs_link = os.path.relpath(docs, output.parent) if docs.exists() else None
    failed = [r for r in results if r.blocking_failed]
    warned = [r for r in results if not r.success and not r.blocking_failed]
    expectations = sum(len(r.expectations) for r in results)
    broken = sum(len(r.failed) for r in results) + sum(1 for r in results if r.error)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    reference = results[0].reference_now if results else "-"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>cx360 data quality</title><style>{_CSS}</style></head><body>",
        "<header><h1>cx360 data quality</h1>",
        f"<p>Great Expectations validations of the raw tables and marts · generated {generated}"
        f" · reference now {html.escape(str(reference))}</p></header><main>",
        '<div class="cards">',
        f'<div class="card">tables<b>{len(results)}</b></div>',
        f'<div class="card">expectations<b>{expectations}</b></div>',
        f'<div class="card">blocking failures<b class="{"fail" if failed else "pass"}">{len(failed)}</b></div>',
        f'<div class="card">tables with warnings<b class="{"warn" if warned else "pass"}">{len(warned)}</b></div>',
        f'<div class="card">failed expectations<b>{broken}</b></div></div>',
    ]
    if failed:
        parts.append(
            "<p class=fail>A blocking quality gate failed: the marts were not rebuilt from this "
            "data and the previously published BI snapshot stays in place.</p>"
        )
    if docs_link:
        parts.append(
            f'<p>Full detail per expectation: <a href="{html.escape(docs_link)}">Great '
            "Expectations Data Docs</a> (static, offline).</p>"
        )
    parts.append(
        "<table><tr><th>table</th><th>layer</th><th>status</th><th>rows validated</th>"
        "<th>expectations</th><th>failed</th><th>validated at</th></tr>"
    )
    for result in results:
        css, label = _status(result)
        parts.append(
            f"<tr><td><a href='#{html.escape(result.suite)}'>{html.escape(result.table)}</a></td>"
            f"<td>{html.escape(result.layer)}</td><td class={css}>{label}</td>"
            f"<td>{result.rows:,}{' (new rows)' if result.scope == 'new_rows' else ''}</td>"
            f"<td>{len(result.expectations)}</td><td>{len(result.failed) + (1 if result.error else 0)}</td>"
            f"<td class=muted>{html.escape(result.validated_at[:19])}</td></tr>"
        )
    parts.append("</table>")
    for result in results:
        css, label = _status(result)
        open_attr = " open" if not result.success else ""
        parts.append(
            f"<details id='{html.escape(result.suite)}'{open_attr}><summary>"
            f"{html.escape(result.table)} — <span class={css}>{label}</span></summary>"
        )
        if result.error:
            parts.append(f"<p class=fail>{html.escape(result.error)}</p>")
        if result.data_docs and docs_link:
            page = os.path.relpath(docs.parent / result.data_docs, output.parent)
            parts.append(f'<p><a href="{html.escape(page)}">Data Docs for this validation</a></p>')
        parts.append(
            "<table><tr><th>expectation</th><th>severity</th><th>result</th><th>detail</th></tr>"
        )
        for outcome in result.expectations:
            status = (
                "pass"
                if outcome.success
                else ("fail" if outcome.severity == "critical" else "warn")
            )
            detail = ""
            if outcome.error:
                detail = f"error: {_cell(outcome.error, 300)}"
            elif outcome.unexpected_count:
                detail = (
                    f"{outcome.unexpected_count:,} unexpected "
                    f"({(outcome.unexpected_percent or 0):.2f}%)"
                )
                if outcome.sample_values:
                    detail += " · e.g. " + _cell(", ".join(map(str, outcome.sample_values)), 200)
            elif outcome.observed is not None:
                detail = f"observed {_cell(outcome.observed)}"
            kwargs = {k: v for k, v in outcome.kwargs.items() if k != "column"}
            parts.append(
                f"<tr><td>{_cell(outcome.column or 'table')}: "
                f"<code>{html.escape(outcome.type)}</code> <span class=muted>{_cell(kwargs, 160)}</span></td>"
                f"<td>{html.escape(outcome.severity)}</td>"
                f"<td class={status}>{'pass' if outcome.success else 'FAIL'}</td><td>{detail}"
                f"{_samples(outcome.sample_rows)}</td></tr>"
            )
        parts.append("</table></details>")
    if not results:
        parts.append("<p>No validation has run yet.</p>")
    parts.append("</main></body></html>")
    tmp = output.with_suffix(".html.tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(output)
    return output


def failure_lines(data_dir: Path, limit_rows: int = 3) -> list[str]:
    """Plain-text lines for the terminal: which expectation failed on which table, samples."""
    lines = []
    for result in load_results(Path(data_dir)):
        if result.success:
            continue
        marker = "FAILED" if result.blocking_failed else "warning"
        if result.error:
            lines.append(f"  {marker} {result.table}: {result.error}")
        for outcome in result.failed:
            lines.append(
                f"  {marker if outcome.severity == 'critical' else 'warning'} {result.table}: {outcome.describe()}"
            )
            for row in outcome.sample_rows[:limit_rows]:
                shown = {k: v for k, v in list(row.items())[:6]}
                lines.append(f"      sample row: {shown}")
    return lines
