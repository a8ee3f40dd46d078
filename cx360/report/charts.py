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


class NothingToShowError(Exception):
    """The mart is there but holds nothing for this chart today (e.g. no at-risk account)."""


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
    """ARR on the reporting date (dim_customers.arr), paying customers."""
    table = "dim_customers"
    cols = columns(con, table)
    arr = pick(cols, table, "arr")
    total, paying = con.execute(
        f"select sum({_q(arr)}), count(*) filter (where {_q(arr)} > 0) from {table}"
    ).fetchone()
    as_of = ""
    if "as_of_date" in cols:
        as_of = f" on {con.execute(f'select max(as_of_date) from {table}').fetchone()[0]}"
    return [(f"ARR{as_of}", f"${total or 0:,.0f}"), ("paying customers", f"{paying:,}")]


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
    publishable = "is_publishable" if "is_publishable" in cols else "true"
    frame = con.execute(
        f"select {_q(quarter)}::varchar as quarter, {_q(nps)} as nps, {_q(moe)} as moe,"
        f" {_q(n)} as n, {publishable} as publishable from {table} {where} order by 1"
    ).df()
    if frame.empty:
        raise MissingMartError(f"overall rows in `{table}`")
    figure = go.Figure(
        go.Scatter(
            x=frame["quarter"],
            y=frame["nps"],
            mode="lines+markers",
            error_y={"type": "data", "array": frame["moe"], "visible": True},
            marker={
                "color": PALETTE["primary"],
                "size": 9,
                # hollow markers: too few responses to publish
                "symbol": ["circle" if p else "circle-open" for p in frame["publishable"]],
            },
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
    """NPS over the trailing four quarters by segment and respondent role, recomputed from the
    mart's promoter/detractor counts (a single, partly elapsed quarter is too noisy)."""
    import plotly.graph_objects as go

    table = "mart_nps_quarterly"
    cols = columns(con, table)
    quarter = pick(cols, table, "quarter_start", "quarter", "response_quarter")
    long = next(((d, v) for d, v in BREAKDOWNS if d in cols and v in cols), None)
    if long is None:
        raise MissingMartError(f"`{table}`.breakdown / breakdown_value")
    dimension, value = long
    for column in ("promoters", "detractors", "responses"):
        pick(cols, table, column)
    frame = con.execute(
        f"""
        select {_q(dimension)} as breakdown, {_q(value)} as value, sum(responses) as n,
               round(100.0 * (sum(promoters) - sum(detractors)) / sum(responses), 1) as nps
        from {table}
        where {_q(dimension)} in ('segment', 'respondent_role_group')
          and {_q(quarter)} > (select max({_q(quarter)}) from {table}) - interval 12 month
        group by 1, 2 having sum(responses) >= 30
        order by 1 desc, 4
        """
    ).df()
    if frame.empty:
        raise MissingMartError(f"segment or role rows in `{table}`")
    labels = [f"{b.replace('respondent_role_group', 'role')}: {v}" for b, v in zip(
        frame["breakdown"], frame["value"], strict=True)]  # fmt: skip
    figure = go.Figure(
        go.Bar(
            x=frame["nps"],
            y=labels,
            orientation="h",
            customdata=frame["n"],
            marker_color=[
                PALETTE["primary"] if b == "segment" else PALETTE["secondary"]
                for b in frame["breakdown"]
            ],
            hovertemplate="%{y}: NPS %{x:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    return _layout(
        figure, height=360, xaxis={"title": "NPS, trailing four quarters", "range": [-100, 100]},
    )  # fmt: skip


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


def _hours(cols: Sequence[str], table: str, stem: str) -> str:
    """SQL for a duration in hours, from an hours or a minutes column."""
    for column in (f"{stem}_hours", f"median_{stem}_hours"):
        if column in cols:
            return _q(column)
    for column in (f"{stem}_minutes", f"median_{stem}_minutes"):
        if column in cols:
            return f"{_q(column)} / 60.0"
    raise MissingMartError(f"`{table}`.{stem}_hours / {stem}_minutes")


def support_kpis(con):
    import plotly.graph_objects as go

    table = "mart_support_kpis_monthly"
    cols = columns(con, table)
    month = pick(cols, table, "month_start", "month", "ticket_month")
    per_k = pick(cols, table, "tickets_per_1000_customers", "tickets_per_thousand_customers")
    reply = _hours(cols, table, "first_reply_median")
    resolution = _hours(cols, table, "full_resolution_median")
    where = _overall_filter(cols)
    frame = con.execute(
        f"select {_q(month)} as month, {_q(per_k)} as per_k, {reply} as reply,"
        f" {resolution} as resolution from {table} {where} order by 1"
    ).df()
    figure = go.Figure()
    figure.add_bar(
        x=frame["month"], y=frame["per_k"], name="tickets per 1,000 customers",
        marker_color=PALETTE["muted"],
    )  # fmt: skip
    figure.add_scatter(
        x=frame["month"], y=frame["reply"], name="median first reply (h)", yaxis="y2"
    )
    figure.add_scatter(
        x=frame["month"], y=frame["resolution"], name="median full resolution (h)", yaxis="y2"
    )
    return _layout(
        figure,
        yaxis={"title": "tickets / 1,000 customers"},
        yaxis2={"title": "hours (calendar)", "overlaying": "y", "side": "right", "showgrid": False},
    )


def _latest_health(con) -> str:
    """SQL of the latest health row per account: the health mart, else customer_360."""
    table = "mart_account_health_daily"
    try:
        cols = columns(con, table)
    except MissingMartError:
        cols = []
    if cols:
        date = pick(cols, table, "health_date", "date")
        band = pick(cols, table, "health_band", "risk_band")
        risk = pick(cols, table, "revenue_at_risk", "arr")
        names = "(select account_id, account_name from customer_360)"
        try:
            columns(con, "customer_360")
        except MissingMartError:
            names = f"(select distinct account_id, account_id as account_name from {table})"
        return (
            f"select h.account_id, n.account_name, h.{_q(band)} as band, h.arr as arr,"
            f" h.{_q(risk)} as revenue_at_risk from {table} h left join {names} n using (account_id)"
            f" where h.{_q(date)} = (select max({_q(date)}) from {table})"
        )
    table = "customer_360"
    cols = columns(con, table)
    band = pick(cols, table, "health_band", "risk_band")
    risk = pick(cols, table, "revenue_at_risk", "arr")
    return (
        f"select account_id, account_name, {_q(band)} as band, arr,"
        f" {_q(risk)} as revenue_at_risk from {table}"
    )


def health_bands(con):
    import plotly.graph_objects as go

    frame = con.execute(
        f"select band, count(*) as customers, sum(arr) as arr from ({_latest_health(con)})"
        " where band is not null group by 1"
        " order by case replace(lower(band), '_', ' ') when 'at risk' then 0"
        " when 'neutral' then 1 else 2 end"
    ).df()
    figure = go.Figure(
        go.Bar(
            x=[str(b).replace("_", " ") for b in frame["band"]],
            y=frame["customers"],
            customdata=frame["arr"],
            marker_color=[BANDS.get(str(b).lower(), PALETTE["primary"]) for b in frame["band"]],
            hovertemplate="%{x}: %{y} customers, ARR $%{customdata:,.0f}<extra></extra>",
        )
    )
    return _layout(figure, height=300, yaxis={"title": "customers"})


def top_at_risk(con):
    import plotly.graph_objects as go

    frame = con.execute(
        f"select coalesce(account_name, account_id) as name, revenue_at_risk as revenue"
        f" from ({_latest_health(con)}) where replace(lower(band), '_', ' ') = 'at risk'"
        " order by 2 desc nulls last limit 15"
    ).df()
    if frame.empty:
        raise NothingToShowError("No customer is in the at-risk band in the latest health scores.")
    figure = go.Figure(
        go.Bar(x=frame["revenue"], y=frame["name"], orientation="h", marker_color=BANDS["at risk"])
    )
    return _layout(
        figure, height=420, xaxis={"title": "revenue at risk ($ ARR)"},
        yaxis={"autorange": "reversed"},
    )  # fmt: skip


def close_the_loop_backlog(con):
    import plotly.express as px

    table = "mart_close_the_loop"
    cols = columns(con, table)
    days = pick(cols, table, "days_open")
    owner = pick(cols, table, "owner_name", "owner", "account_owner")
    status = next((c for c in ("fix_loop_status", "status") if c in cols), None)
    still_open = f"where {_q(status)} <> 'followed_up'" if status else ""
    frame = con.execute(
        f"select coalesce({_q(owner)}, 'unassigned') as owner, case when {_q(days)} <= 7 then '0-7 days'"
        f" when {_q(days)} <= 30 then '8-30 days' else '> 30 days' end as age, count(*) as responses"
        f" from {table} {still_open} group by 1, 2 order by 1"
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
          "% promoters - % detractors per quarter; bars show the 95% margin of error, hollow markers too few responses to publish.",
          nps_by_quarter, needs="metric marts issue: mart_nps_quarterly"),
    Chart("nps_segment_role", "NPS by segment and respondent role", "Loyalty (NPS)",
          "Trailing four quarters; decision makers vs users, and by segment (n >= 30).", nps_by_segment,
          needs="metric marts issue: mart_nps_quarterly with segment / role"),
    Chart("csat_txs_monthly", "CSAT and TXS by month", "Satisfaction",
          "% satisfied (top-2 box) per month.", csat_txs_by_month,
          needs="metric marts issue: mart_csat_monthly, mart_txs_monthly"),
    Chart("support_kpis", "Support KPIs by month", "Support",
          "Ticket volume per 1,000 support customers and median reply / resolution times.",
          support_kpis, needs="metric marts issue: mart_support_kpis_monthly"),
    Chart("health_bands", "Health-band distribution", "Health and risk",
          "Customers per health band (hover for ARR).", health_bands,
          needs="metric marts issue: mart_account_health_daily"),
    Chart("top_at_risk", "Top at-risk accounts by revenue", "Health and risk",
          "The 15 at-risk customers with the most ARR at stake.", top_at_risk,
          needs="metric marts issue: mart_account_health_daily"),
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
