"""Assemble the report page from the chart registry (:mod:`cx360.report.charts`)."""

from __future__ import annotations

import contextlib
import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cx360 import snapshot
from cx360.report.charts import CHARTS, Chart, MissingMartError, NothingToShowError

_CSS = """
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--accent:#0b5cad}
*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:#f5f7fa}header{background:#102a43;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.6rem}header p{margin:.3rem 0 0;color:#bcccdc;font-size:.9rem}
nav{padding:.6rem 2rem;background:#fff;border-bottom:1px solid var(--line);font-size:.9rem}
nav a{margin-right:1rem;color:var(--accent);text-decoration:none}main{padding:1rem 2rem 3rem}
section{margin-top:1.5rem}section>h2{font-size:1.2rem;border-bottom:2px solid var(--line);padding-bottom:.3rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:.8rem 1rem;min-width:0}
.card h3{margin:.1rem 0 .2rem;font-size:1rem}.card p.note{margin:.2rem 0 .4rem;color:var(--muted);font-size:.85rem}
.todo{border-style:dashed;background:#fffbea}.todo code{font-size:.85rem}
.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{background:#fff;border:1px solid var(--line);border-radius:10px;
padding:.6rem 1rem;min-width:160px}.kpi b{display:block;font-size:1.5rem}.kpi span{color:var(--muted);font-size:.85rem}
footer{color:var(--muted);font-size:.8rem;padding:1rem 2rem}
"""


@dataclass
class ReportResult:
    path: Path
    charts: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    """Charts whose mart holds nothing to plot right now (shown as a note, not a TODO)."""
    snapshot_version: str | None = None


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def build_report(
    bi_dir: Path, output: Path, title: str = "cx360 — Customer Experience report"
) -> ReportResult:
    """Render every chart the snapshot's marts support; placeholders for the others."""
    import plotly.io as pio

    info = snapshot.current(bi_dir)
    result = ReportResult(path=output, snapshot_version=info.version if info else None)
    rendered: dict[str, list[str]] = {}
    kpis: list[tuple[str, str]] = []
    con = snapshot.connect(bi_dir) if info else duckdb.connect()
    try:
        for chart in CHARTS:
            block = _render(chart, con, pio, result, kpis)
            rendered.setdefault(chart.section, []).append(block)
    finally:
        con.close()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = (
        f"BI snapshot {html.escape(info.version)} ({len(info.tables)} tables, published {html.escape(info.created_at[:19])})"
        if info
        else "no BI snapshot published yet"
    )
    sections = list(rendered)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>",
        f"<script>{_plotly_js()}</script></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>Generated {generated} from the {source}.</p></header>",
        "<nav>"
        + "".join(f"<a href='#{_anchor(s)}'>{html.escape(s)}</a>" for s in sections)
        + "</nav><main>",
    ]
    if kpis:
        parts.append("<div class=kpis>")
        parts += [
            f"<div class=kpi><span>{html.escape(k)}</span><b>{html.escape(v)}</b></div>"
            for k, v in kpis
        ]
        parts.append("</div>")
    for section in sections:
        parts.append(
            f"<section id='{_anchor(section)}'><h2>{html.escape(section)}</h2><div class=grid>"
        )
        parts += rendered[section]
        parts.append("</div></section>")
    # charts render while the page is still being parsed: fit them to their final cards
    parts.append(
        "<script>window.addEventListener('load',function(){document.querySelectorAll("
        "'.js-plotly-plot').forEach(function(p){Plotly.Plots.resize(p);});});</script>"
    )
    parts.append(
        "</main><footer>cx360 · charts by Plotly (embedded, works offline) · numbers from the "
        "published BI snapshot, so they match what BI tools read.</footer></body></html>"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".html.tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(output)
    return result


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _render(chart: Chart, con, pio, result: ReportResult, kpis: list) -> str:
    try:
        figure = chart.build(con)
    except NothingToShowError as nothing:
        result.empty.append(chart.id)
        return (
            f"<div class='card empty' data-chart='{chart.id}'><h3>{html.escape(chart.title)}</h3>"
            f"<p class=note>{html.escape(str(nothing))}</p></div>"
        )
    except MissingMartError as missing:
        result.todos.append(f"{chart.id}: {missing}")
        return (
            f"<div class='card todo' data-chart='{chart.id}'><h3>{html.escape(chart.title)}</h3>"
            f"<p class=note>TODO — waiting for {html.escape(str(missing))}"
            f"{(' (' + html.escape(chart.needs) + ')') if chart.needs else ''}.</p></div>"
        )
    if chart.kpis is not None:
        with contextlib.suppress(MissingMartError):
            kpis.extend(chart.kpis(con))
    result.charts.append(chart.id)
    body = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{chart.id}",
        default_width="100%",
        default_height=f"{figure.layout.height or 360}px",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        f"<div class=card data-chart='{chart.id}'><h3>{html.escape(chart.title)}</h3>"
        f"<p class=note>{html.escape(chart.note)}</p>{body}</div>"
    )
