"""The chart registry of the CX report.

Each chart reads the published marts from the BI snapshot (a read-only DuckDB connection) and
returns a Plotly figure, or raises :class:`MissingMartError` naming the mart/columns it waits for; the
page then shows a TODO card instead. Column names are looked up by candidates, so a renamed
column shows up as a TODO, never as a wrong number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

PALETTE = {
    "promoter": "#1b7f3b",
    "passive": "#9aa5b1",
    "detractor": "#b42318",
    "primary": "#0b5cad",
    "secondary": "#f0a202",
    "muted": "#9aa5b1",
}
BANDS = {"at risk": "#b42318", "at_risk": "#b42318", "neutral": "#9aa5b1", "growth": "#1b7f3b"}


class MissingMartError(Exception):
    """The chart's mart (or a column it needs) is not in the snapshot yet."""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    section: str
    note: str
    build: Callable[[duckdb.DuckDBPyConnection], object]
    needs: str = ""
    kpis: Callable[[duckdb.DuckDBPyConnection], list[tuple[str, str]]] | None = None


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where table_name = ? order by column_index",
        [table],
    ).fetchall()
    if not rows:
        raise MissingMartError(f"mart `{table}`")
    return [row[0] for row in rows]


def pick(available: Sequence[str], table: str, *candidates: str) -> str:
    for candidate in candidates:
        if candidate in available:
            return candidate
    raise MissingMartError(f"`{table}`.{' / '.join(candidates)}")


def _layout(figure, *, height: int = 360, **extra):
    figure.update_layout(
        height=height,
        margin={"l": 50, "r": 20, "t": 20, "b": 40},
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.2},
        **extra,
    )
    return figure


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- revenue and customers (marts of the Customer 360 issue) --------------------------------


def arr_by_month(con):
    import plotly.graph_objects as go

    table = "fct_account_revenue_monthly"
    cols = columns(con, table)
    month = pick(cols, table, "revenue_month", "month")
    parts = [
        c
        for c in ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")
        if c in cols
    ]
    arr = pick(cols, table, "arr")
    frame = con.execute(
        f"select {_q(month)} as month, sum({_q(arr)}) as arr"
        + "".join(f", sum({_q(p)}) as {_q(p)}" for p in parts)
        + f" from {table} group by 1 order by 1"
    ).df()
    figure = go.Figure()
    colors = {"new_mrr": "#1b7f3b", "expansion_mrr": "#5cb85c", "reactivation_mrr": "#8fd19e",
              "contraction_mrr": "#f0a202", "churned_mrr": "#b42318"}  # fmt: skip
    for part in parts:
        sign = -1 if part in ("contraction_mrr", "churned_mrr") else 1
        figure.add_bar(
            x=frame["month"],
            y=sign * frame[part],
            name=part.replace("_mrr", " MRR").replace("_", " "),
            marker_color=colors[part],
            opacity=0.75,
            yaxis="y2",
        )
    figure.add_scatter(
        x=frame["month"],
        y=frame["arr"],
        name="ARR",
        mode="lines",
        line={"color": PALETTE["primary"], "width": 3},
    )
    return _layout(
        figure,
        barmode="relative",
        yaxis={"title": "ARR ($)", "rangemode": "tozero"},
        yaxis2={"title": "MRR movement ($)", "overlaying": "y", "side": "right", "showgrid": False},
    )


def revenue_kpis(con):
    table = "fct_account_revenue_monthly"
    cols = columns(con, table)
    month = pick(cols, table, "revenue_month", "month")
    arr = pick(cols, table, "arr")
    row = con.execute(
        f"select sum({_q(arr)}), count(*) filter (where {_q(arr)} > 0) from {table} "
        f"where {_q(month)} = (select max({_q(month)}) from {table} where {_q(arr)} > 0)"
    ).fetchone()
    return [("ARR (latest month)", f"${row[0]:,.0f}"), ("paying accounts", f"{row[1]:,}")]


def customer_definitions(con):
    import plotly.graph_objects as go

    table = "dim_customers"
    cols = columns(con, table)
    flags = [
        (label, pick(cols, table, column))
        for label, column in (
            ("marketing (any prospect or better)", "is_marketing_customer"),
            ("billing (paying above threshold)", "is_billing_customer"),
            ("support (can open tickets)", "is_support_customer"),
        )
    ]
    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {_q(c)})" for _, c in flags)
        + f" from {table}"
    ).fetchone()
    figure = go.Figure(
        go.Bar(
            x=list(counts),
            y=[label for label, _ in flags],
            orientation="h",
            marker_color=[PALETTE["primary"], PALETTE["promoter"], PALETTE["secondary"]],
            text=[f"{c:,}" for c in counts],
            textposition="auto",
        )
    )
    return _layout(
        figure, height=260, xaxis={"title": "customers"}, yaxis={"autorange": "reversed"}
    )


def lifecycle_by_segment(con):
    import plotly.express as px

    table = "dim_customers"
    cols = columns(con, table)
    stage = pick(cols, table, "lifecycle_stage", "lifecycle")
    segment = pick(cols, table, "segment")
    frame = con.execute(
        f"select coalesce({_q(segment)}, 'unknown') as segment, coalesce({_q(stage)}, 'unknown') as stage,"
        f" count(*) as customers from {table} group by 1, 2 order by 1, 2"
    ).df()
    figure = px.bar(frame, x="segment", y="customers", color="stage", barmode="stack")
    return _layout(figure)


def customer_kpis(con):
    table = "dim_customers"
    columns(con, table)
    return [
        ("customers (companies)", f"{con.execute(f'select count(*) from {table}').fetchone()[0]:,}")
    ]


# --- CX metric marts (the metric-marts issue) -------------------------------------------------


def nps_by_quarter(con):
    import plotly.graph_objects as go

    table = "mart_nps_quarterly"
    cols = columns(con, table)
    quarter = pick(cols, table, "quarter_start", "quarter", "response_quarter")
    nps = pick(cols, table, "nps", "nps_response_weighted")
    moe = pick(cols, table, "nps_margin_of_error", "margin_of_error", "moe")
    n = pick(cols, table, "responses", "n", "response_count")
    where = _overall_filter(cols)
    frame = con.execute(
        f"select {_q(quarter)}::varchar as quarter, {_q(nps)} as nps, {_q(moe)} as moe,"
        f" {_q(n)} as n from {table} {where} order by 1"
    ).df()
    if frame.empty:
        raise MissingMartError(f"overall rows in `{table}`")
    figure = go.Figure(
        go.Scatter(
            x=frame["quarter"],
            y=frame["nps"],
            mode="lines+markers",
            error_y={"type": "data", "array": frame["moe"], "visible": True},
            marker={"color": PALETTE["primary"], "size": 9},
            customdata=frame["n"],
            hovertemplate="%{x}: NPS %{y:.1f} ± %{error_y.array:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    return _layout(figure, yaxis={"title": "NPS", "range": [-100, 100], "zeroline": True})


BREAKDOWNS = (("breakdown", "breakdown_value"), ("dimension", "dimension_value"))


def _overall_filter(cols: Sequence[str]) -> str:
    """Marts in long format carry a breakdown column; keep the overall rows."""
    for column, _ in BREAKDOWNS:
        if column in cols:
            return f"where {_q(column)} in ('all', 'overall', 'total')"
    return ""


def nps_by_segment(con):
    import plotly.express as px

    table = "mart_nps_quarterly"
    cols = columns(con, table)
    quarter = pick(cols, table, "quarter_start", "quarter", "response_quarter")
    nps = pick(cols, table, "nps", "nps_response_weighted")
    long = next(((d, v) for d, v in BREAKDOWNS if d in cols and v in cols), None)
    if long is None:
        raise MissingMartError(f"`{table}`.breakdown / breakdown_value")
    dimension, value = long
    frame = con.execute(
        f"select {_q(dimension)} as breakdown, {_q(value)} as value, {_q(nps)} as nps"
        f" from {table} where {_q(dimension)} in ('segment', 'respondent_role_group', 'respondent_role')"
        f" and {_q(quarter)} = (select max({_q(quarter)}) from {table})"
        " order by 1, 2"
    ).df()
    if frame.empty:
        raise MissingMartError(f"segment or role rows in `{table}`")
    figure = px.bar(frame, x="value", y="nps", color="breakdown", barmode="group")
    return _layout(figure, yaxis={"title": "NPS (latest quarter)", "range": [-100, 100]})


def _satisfaction_monthly(con, table: str, label: str):
    import plotly.graph_objects as go

    cols = columns(con, table)
    month = pick(cols, table, "month", "response_month", "month_start")
    pct = pick(cols, table, "pct_satisfied", "percent_satisfied", "satisfied_pct", "csat_pct")
    where = _overall_filter(cols)
    frame = con.execute(
        f"select {_q(month)} as month, {_q(pct)} as pct from {table} {where} order by 1"
    ).df()
    figure = go.Figure(
        go.Scatter(x=frame["month"], y=frame["pct"], mode="lines+markers", name=label)
    )
    return figure


def csat_txs_by_month(con):
    figure = _satisfaction_monthly(con, "mart_csat_monthly", "CSAT % satisfied")
    try:
        txs = _satisfaction_monthly(con, "mart_txs_monthly", "TXS % satisfied")
        figure.add_traces(txs.data)
    except MissingMartError:
        pass
    return _layout(figure, yaxis={"title": "% satisfied", "range": [0, 100]})


def support_kpis(con):
    import plotly.graph_objects as go

    table = "mart_support_kpis_monthly"
    cols = columns(con, table)
    month = pick(cols, table, "month", "ticket_month", "month_start")
    per_k = pick(cols, table, "tickets_per_1000_customers", "tickets_per_thousand_customers")
    reply = pick(cols, table, "median_first_reply_hours", "first_reply_time_median_hours")
    resolution = pick(
        cols, table, "median_full_resolution_hours", "full_resolution_time_median_hours"
    )
    where = _overall_filter(cols)
    frame = con.execute(
        f"select {_q(month)} as month, {_q(per_k)} as per_k, {_q(reply)} as reply, {_q(resolution)} as resolution"
        f" from {table} {where} order by 1"
    ).df()
    figure = go.Figure()
    figure.add_bar(
        x=frame["month"],
        y=frame["per_k"],
        name="tickets per 1,000 customers",
        marker_color=PALETTE["muted"],
    )
    figure.add_scatter(
        x=frame["month"], y=frame["reply"], name="median first reply (h)", yaxis="y2"
    )
    figure.add_scatter(
        x=frame["month"], y=frame["resolution"], name="median resolution (h)", yaxis="y2"
    )
    return _layout(
        figure,
        yaxis={"title": "tickets / 1,000 customers"},
        yaxis2={"title": "hours", "overlaying": "y", "side": "right", "showgrid": False},
    )


def health_bands(con):
    import plotly.graph_objects as go

    table = "customer_360"
    cols = columns(con, table)
    band = pick(cols, table, "health_band", "risk_band")
    arr = pick(cols, table, "arr", "current_arr")
    frame = con.execute(
        f"select {_q(band)} as band, count(*) as customers, sum({_q(arr)}) as arr from {table}"
        f" where {_q(band)} is not null group by 1 order by 1"
    ).df()
    figure = go.Figure(
        go.Bar(
            x=frame["band"],
            y=frame["customers"],
            customdata=frame["arr"],
            marker_color=[BANDS.get(str(b).lower(), PALETTE["primary"]) for b in frame["band"]],
            hovertemplate="%{x}: %{y} customers, ARR $%{customdata:,.0f}<extra></extra>",
        )
    )
    return _layout(figure, height=300, yaxis={"title": "customers"})


def top_at_risk(con):
    import plotly.graph_objects as go

    table = "customer_360"
    cols = columns(con, table)
    band = pick(cols, table, "health_band", "risk_band")
    name = pick(cols, table, "account_name", "customer_name", "name")
    revenue = pick(cols, table, "revenue_at_risk", "arr", "current_arr")
    frame = con.execute(
        f"select {_q(name)} as name, {_q(revenue)} as revenue from {table}"
        f" where lower(replace({_q(band)}, '_', ' ')) = 'at risk' order by 2 desc nulls last limit 15"
    ).df()
    if frame.empty:
        raise MissingMartError(f"at-risk customers in `{table}`")
    figure = go.Figure(
        go.Bar(x=frame["revenue"], y=frame["name"], orientation="h", marker_color=BANDS["at risk"])
    )
    return _layout(
        figure,
        height=420,
        xaxis={"title": "revenue at risk ($ ARR)"},
        yaxis={"autorange": "reversed"},
    )


def close_the_loop_backlog(con):
    import plotly.express as px

    table = "mart_close_the_loop"
    cols = columns(con, table)
    days = pick(cols, table, "days_open")
    owner = pick(cols, table, "owner_name", "owner", "account_owner")
    frame = con.execute(
        f"select coalesce({_q(owner)}, 'unassigned') as owner, case when {_q(days)} <= 7 then '0-7 days'"
        f" when {_q(days)} <= 30 then '8-30 days' else '> 30 days' end as age, count(*) as responses"
        f" from {table} group by 1, 2 order by 1"
    ).df()
    figure = px.bar(
        frame,
        x="owner",
        y="responses",
        color="age",
        barmode="stack",
        color_discrete_map={"0-7 days": "#9aa5b1", "8-30 days": "#f0a202", "> 30 days": "#b42318"},
    )
    return _layout(figure, yaxis={"title": "open detractor / dissatisfied responses"})


def published_tables(con):
    import plotly.graph_objects as go

    try:
        frame = con.execute("select table_name, rows from _snapshot order by rows desc").df()
    except duckdb.Error:
        raise MissingMartError("a published BI snapshot") from None
    figure = go.Figure(
        go.Bar(
            x=frame["rows"], y=frame["table_name"], orientation="h", marker_color=PALETTE["primary"]
        )
    )
    return _layout(
        figure,
        height=max(260, 26 * len(frame)),
        xaxis={"title": "rows", "type": "log"},
        yaxis={"autorange": "reversed"},
    )


CHARTS: list[Chart] = [
    Chart("nps_quarterly", "NPS by quarter (95% margin of error)", "Loyalty (NPS)",
          "% promoters - % detractors per quarter; bars show the 95% margin of error.",
          nps_by_quarter, needs="metric marts issue: mart_nps_quarterly"),
    Chart("nps_segment_role", "NPS by segment and respondent role", "Loyalty (NPS)",
          "Latest quarter, decision makers vs users and by segment.", nps_by_segment,
          needs="metric marts issue: mart_nps_quarterly with segment / role"),
    Chart("csat_txs_monthly", "CSAT and TXS by month", "Satisfaction",
          "% satisfied (top-2 box) per month.", csat_txs_by_month,
          needs="metric marts issue: mart_csat_monthly, mart_txs_monthly"),
    Chart("support_kpis", "Support KPIs by month", "Support",
          "Ticket volume per 1,000 support customers and median reply / resolution times.",
          support_kpis, needs="metric marts issue: mart_support_kpis_monthly"),
    Chart("health_bands", "Health-band distribution", "Health and risk",
          "Customers per health band (hover for ARR).", health_bands,
          needs="metric marts issue: health_band in customer_360"),
    Chart("top_at_risk", "Top at-risk accounts by revenue", "Health and risk",
          "The 15 at-risk customers with the most ARR at stake.", top_at_risk,
          needs="metric marts issue: health_band / revenue_at_risk in customer_360"),
    Chart("close_the_loop", "Close-the-loop backlog", "Close the loop",
          "Open detractor and dissatisfied responses by owner and age.", close_the_loop_backlog,
          needs="metric marts issue: mart_close_the_loop"),
    Chart("arr_monthly", "ARR and MRR movements by month", "Revenue and customers",
          "ARR (line) and new / expansion / contraction / churned MRR (bars).", arr_by_month,
          kpis=revenue_kpis),
    Chart("customer_definitions", "Who counts as a customer", "Revenue and customers",
          "The three definitions of customer, side by side.", customer_definitions,
          kpis=customer_kpis),
    Chart("lifecycle_segment", "Customers by segment and lifecycle stage", "Revenue and customers",
          "Conformed customers (Salesforce account as system of record).", lifecycle_by_segment),
    Chart("published_tables", "Published marts", "Data",
          "Rows per table in the BI snapshot this report was built from.", published_tables),
]  # fmt: skip
