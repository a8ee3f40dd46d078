"""Author the Great Expectations suites as code and commit them as JSON (``expectations/gx``).

    .venv/bin/python expectations/author_suites.py --warehouse .cx360/warehouse.duckdb

Run it when a raw table or a key mart changes shape, against a warehouse the main job filled
from the sandbox (``cx360 run``): it builds every suite, validates it against that warehouse
(every suite must pass on the sandbox data before anything is written), and rewrites the
committed context only when a suite changed in substance (ids are not churned otherwise).
At run time nothing is added or updated: only ``checkpoints.get(name).run(...)`` (see
``orchestration/validation.py``).

Per raw table: keys unique and not null, scores within their scale, event timestamps not in
the future (relative to the ``now`` parameter: the sandbox clock, or the wall clock against
real APIs), referential coverage within and between sources (as flag columns computed in the
validation query), and volume within the bounds of recent loads (``min_rows``/``max_rows``
parameters). Per key mart (authored when the mart exists): NPS within [-100, 100], one row per
customer, no negative durations.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestration.constants import GX_DIR  # noqa: E402

DATASOURCE = "cx360_frames"
BATCH = "whole_frame"
CRITICAL, WARNING = "critical", "warning"
SEED_PROGRAMS = REPO / "dbt_project" / "seeds" / "qualtrics_survey_programs.csv"


@dataclass
class Ref:
    """Referential coverage: non-null `column` values found in `target`.`target_column`."""

    column: str
    target: str  # schema.table
    target_column: str
    mostly: float = 0.99
    severity: str = CRITICAL
    expression: str | None = None  # SQL for the value when it is not a plain column
    note: str = ""

    @property
    def flag(self) -> str:
        table = self.target.split(".", 1)[1]
        return f"ref__{self.column.lower()}__{table}"


@dataclass
class Rule:
    """One more expectation; `select` adds computed columns the rule needs to the query."""

    expectation: str
    kwargs: dict[str, Any]
    severity: str = CRITICAL
    select: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class TableSuite:
    table: str  # schema.table
    key: list[str]
    layer: str = "raw"
    timestamps: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    scope: str = "table"
    allow_empty: bool = False
    blocking: bool = True
    asset_key: list[str] | None = None
    description: str = ""

    @property
    def name(self) -> str:
        return self.table.replace(".", "__")

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def references(self) -> list[list[str]]:
        return sorted(
            {tuple(ref.target.split(".")) for ref in self.refs} - {tuple(self.table.split("."))}
        )


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def between(column: str, low: float | None, high: float | None, **extra: Any) -> Rule:
    kwargs = {"column": column, **({"min_value": low} if low is not None else {})}
    if high is not None:
        kwargs["max_value"] = high
    return Rule("ExpectColumnValuesToBeBetween", {**kwargs, **extra})


def in_set(
    column: str, values: list, severity: str = CRITICAL, mostly: float | None = None
) -> Rule:
    kwargs: dict[str, Any] = {"column": column, "value_set": values}
    if mostly is not None:
        kwargs["mostly"] = mostly
    return Rule("ExpectColumnValuesToBeInSet", kwargs, severity)


def not_null(column: str, severity: str = CRITICAL, mostly: float | None = None) -> Rule:
    kwargs: dict[str, Any] = {"column": column}
    if mostly is not None:
        kwargs["mostly"] = mostly
    return Rule("ExpectColumnValuesToNotBeNull", kwargs, severity)


def _qualtrics_scale_rule() -> Rule:
    """Each Qualtrics survey's score (QID1) within its program's scale (the dbt seed)."""
    programs = []
    if SEED_PROGRAMS.exists():
        with SEED_PROGRAMS.open() as handle:
            programs = list(csv.DictReader(handle))
    cases = " ".join(
        f"when {_literal(p['survey_name'])} then score between {int(p['scale_min'])} and {int(p['scale_max'])}"
        for p in programs
    )
    known = ", ".join(_literal(p["survey_name"]) for p in programs) or "''"
    return Rule(
        "ExpectColumnValuesToBeInSet",
        {"column": "score_within_scale", "value_set": [True]},
        select=[
            "try_cast(json_extract(t.\"values\", '$.QID1') as double) as score",
            '(select s.name from raw_qualtrics.surveys s where s.id = t."surveyId") as survey_name',
            f'case (select s.name from raw_qualtrics.surveys s where s.id = t."surveyId") {cases} end'
            " as score_within_scale"
            if cases
            else "null::boolean as score_within_scale",
            f'(select s.name from raw_qualtrics.surveys s where s.id = t."surveyId") in ({known})'
            " as survey_program_known",
        ],
        note="scales from dbt_project/seeds/qualtrics_survey_programs.csv",
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SALESFORCE_TS = ["CreatedDate", "LastModifiedDate", "SystemModstamp"]

RAW_SUITES: list[TableSuite] = [
    # --- Salesforce ---------------------------------------------------------------------------
    TableSuite(
        "raw_salesforce.accounts",
        ["Id"],
        timestamps=SALESFORCE_TS,
        columns=[
            "Name",
            "Segment__c",
            "Lifecycle_Stage__c",
            "Monthly_Spend__c",
            "Seats__c",
            "NumberOfEmployees",
            "OwnerId",
        ],
        refs=[Ref("OwnerId", "raw_salesforce.users", "Id", 0.95)],
        rules=[
            not_null("Name"),
            in_set("Segment__c", ["SMB", "Mid-Market", "Enterprise"], WARNING, 0.95),
            in_set(
                "Lifecycle_Stage__c", ["Prospect", "Trial", "Customer", "Churned"], WARNING, 0.95
            ),
            between("Monthly_Spend__c", 0, None),
            between("Seats__c", 0, None),
            between("NumberOfEmployees", 0, None),
        ],
    ),
    TableSuite(
        "raw_salesforce.contacts",
        ["Id"],
        timestamps=SALESFORCE_TS,
        columns=["AccountId", "Contact_Role__c"],
        refs=[Ref("AccountId", "raw_salesforce.accounts", "Id", 0.95)],
        rules=[
            in_set(
                "Contact_Role__c",
                ["Decision Maker", "Champion", "Admin", "End User"],
                WARNING,
                0.95,
            ),
        ],
    ),
    TableSuite(
        "raw_salesforce.opportunities",
        ["Id"],
        timestamps=SALESFORCE_TS,
        columns=["AccountId", "Amount", "Probability", "MRR__c", "StageName"],
        refs=[Ref("AccountId", "raw_salesforce.accounts", "Id", 0.95)],
        rules=[
            between("Probability", 0, 100),
            between("Amount", 0, None),
            between("MRR__c", 0, None),
            not_null("StageName"),
        ],
    ),
    TableSuite("raw_salesforce.users", ["Id"], timestamps=[*SALESFORCE_TS, "LastLoginDate"]),
    TableSuite(
        "raw_salesforce.opportunity_contact_roles",
        ["Id"],
        timestamps=SALESFORCE_TS,
        columns=["OpportunityId", "ContactId"],
        refs=[
            Ref("OpportunityId", "raw_salesforce.opportunities", "Id", 0.95),
            Ref(
                "ContactId",
                "raw_salesforce.contacts",
                "Id",
                0.8,
                WARNING,
                note="contacts deleted after the deal keep their roles",
            ),
        ],
    ),
    # --- Zendesk ------------------------------------------------------------------------------
    TableSuite(
        "raw_zendesk.tickets",
        ["id"],
        timestamps=["created_at", "updated_at"],
        columns=["requester_id", "organization_id", "group_id", "status", "priority"],
        refs=[
            Ref("requester_id", "raw_zendesk.users", "id", 0.95),
            Ref("organization_id", "raw_zendesk.organizations", "id", 0.95),
            Ref("group_id", "raw_zendesk.groups", "id", 0.95),
        ],
        rules=[
            not_null("requester_id"),
            in_set("status", ["new", "open", "pending", "hold", "solved", "closed", "deleted"]),
            in_set("priority", ["low", "normal", "high", "urgent"], WARNING),
        ],
    ),
    TableSuite(
        "raw_zendesk.users",
        ["id"],
        timestamps=["created_at", "updated_at", "last_login_at"],
        columns=["organization_id", "role"],
        refs=[Ref("organization_id", "raw_zendesk.organizations", "id", 0.95)],
        rules=[in_set("role", ["end-user", "agent", "admin"], WARNING)],
    ),
    TableSuite(
        "raw_zendesk.organizations",
        ["id"],
        timestamps=["created_at", "updated_at"],
        columns=["external_id", "name"],
        refs=[
            Ref(
                "external_id",
                "raw_salesforce.accounts",
                "Id",
                0.8,
                WARNING,
                note="cross-source: Zendesk organizations carrying a Salesforce account id",
            ),
        ],
        rules=[not_null("name")],
    ),
    TableSuite("raw_zendesk.groups", ["id"], timestamps=["created_at", "updated_at"]),
    TableSuite(
        "raw_zendesk.ticket_metrics",
        ["id"],
        timestamps=["created_at", "updated_at", "solved_at", "assigned_at"],
        columns=["ticket_id", "reopens", "replies"],
        refs=[Ref("ticket_id", "raw_zendesk.tickets", "id", 0.95)],
        rules=[between("reopens", 0, None), between("replies", 0, None)],
    ),
    TableSuite(
        "raw_zendesk.satisfaction_ratings",
        ["id"],
        timestamps=["created_at", "updated_at"],
        columns=["ticket_id", "score"],
        refs=[Ref("ticket_id", "raw_zendesk.tickets", "id", 0.95)],
        rules=[in_set("score", ["offered", "unoffered", "good", "bad"])],
    ),
    TableSuite(
        "raw_zendesk.ticket_events",
        ["id"],
        timestamps=["created_at"],
        columns=["ticket_id", "event_type"],
        refs=[Ref("ticket_id", "raw_zendesk.tickets", "id", 0.95)],
        rules=[not_null("event_type")],
    ),
    # --- Qualtrics ----------------------------------------------------------------------------
    TableSuite("raw_qualtrics.surveys", ["id"], timestamps=["lastModified", "creationDate"]),
    TableSuite(
        "raw_qualtrics.survey_responses",
        ["responseId"],
        timestamps=["recordedDate"],
        columns=["surveyId"],
        refs=[
            Ref("surveyId", "raw_qualtrics.surveys", "id", 0.99),
            Ref(
                "externalDataReference",
                "raw_salesforce.contacts",
                "Id",
                0.8,
                WARNING,
                expression="t.\"values\"->>'externalDataReference'",
                note="cross-source: respondents' Salesforce contact ids",
            ),
        ],
        rules=[
            _qualtrics_scale_rule(),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "survey_program_known", "value_set": [True]},
                WARNING,
            ),
        ],
    ),
    TableSuite(
        "raw_qualtrics.distributions",
        ["surveyId", "id"],
        timestamps=["createdDate", "modifiedDate"],
        refs=[Ref("surveyId", "raw_qualtrics.surveys", "id", 0.99)],
    ),
    # --- Delighted ----------------------------------------------------------------------------
    TableSuite(
        "raw_delighted.survey_responses",
        ["id"],
        timestamps=["created_at", "updated_at"],
        columns=["survey_type", "score"],
        refs=[
            Ref("person_id", "raw_delighted.people", "id", 0.95, expression="t.person->>'id'"),
        ],
        rules=[
            not_null("score"),
            in_set(
                "survey_type", ["nps", "csat", "ces", "ces7", "smileys", "thumbs", "pmf", "enps"]
            ),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "score_within_scale", "value_set": [True]},
                select=[
                    "case t.survey_type when 'nps' then t.score between 0 and 10"
                    " when 'enps' then t.score between 0 and 10"
                    " when 'csat' then t.score between 1 and 5"
                    " when 'ces' then t.score between 1 and 7"
                    " when 'ces7' then t.score between 1 and 7"
                    " when 'smileys' then t.score between 1 and 5"
                    " when 'thumbs' then t.score between 0 and 1"
                    " when 'pmf' then t.score between 1 and 3 end as score_within_scale"
                ],
                note="Delighted scales: NPS 0-10, CSAT 1-5, CES 1-7",
            ),
        ],
    ),
    TableSuite(
        "raw_delighted.people",
        ["id"],
        timestamps=["created_at", "last_sent_at", "last_responded_at"],
    ),
    # --- Amplitude (large: validate the rows loaded since the last good validation) -----------
    TableSuite(
        "raw_amplitude.events",
        ["uuid"],
        timestamps=["event_time", "server_upload_time"],
        columns=["event_type", "user_id"],
        rules=[not_null("event_type")],
        scope="new_rows",
        allow_empty=True,
    ),
]

MART_SUITES: list[TableSuite] = [
    TableSuite(
        "marts.dim_customers",
        ["account_id"],
        layer="mart",
        rules=[between("mrr", 0, None), between("arr", 0, None), not_null("account_name")],
        description="One row per real company (the conformed customer).",
    ),
    TableSuite(
        "marts.customer_360",
        ["account_id"],
        layer="mart",
        rules=[
            between("arr", 0, None),
            between("latest_nps_score", 0, 10),
            between("nps_last_365_days", -100, 100),
            between("csat_pct_last_90_days", 0, 100),
            between("median_full_resolution_minutes_last_90_days", 0, None),
            between("open_ticket_count", 0, None),
        ],
        description="One row per customer; NPS within [-100, 100]; no negative durations.",
    ),
    TableSuite(
        "marts.fct_account_revenue_monthly",
        ["account_month_id"],
        layer="mart",
        allow_empty=True,
        rules=[between("mrr", 0, None), between("arr", 0, None)],
        description="One row per account and month; no negative MRR.",
    ),
    TableSuite(
        "marts.fct_survey_responses",
        ["survey_response_key"],
        layer="mart",
        allow_empty=True,
        rules=[
            in_set("nps_code", [-1, 0, 1]),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "score_within_scale", "value_set": [True]},
                select=["t.score between t.scale_min and t.scale_max as score_within_scale"],
                note="every score within its survey's scale",
            ),
        ],
        description="One row per survey response; scores within their scale.",
    ),
    TableSuite(
        "marts.mart_nps_quarterly",
        ["nps_cell_id"],
        layer="mart",
        allow_empty=True,
        rules=[
            between("nps", -100, 100),
            between("account_weighted_nps", -100, 100),
            between("nps_margin_of_error", 0, None),
            between("responses", 1, None),
            between("promoter_pct", 0, 100),
            between("detractor_pct", 0, 100),
        ],
        description="NPS between -100 and 100; one row per quarter and breakdown cell.",
    ),
    TableSuite(
        "marts.mart_csat_monthly",
        ["cell_id"],
        layer="mart",
        allow_empty=True,
        rules=[between("pct_satisfied", 0, 100), between("responses", 0, None)],
        description="% satisfied within 0-100.",
    ),
    TableSuite(
        "marts.mart_txs_monthly",
        ["cell_id"],
        layer="mart",
        allow_empty=True,
        rules=[between("pct_satisfied", 0, 100), between("responses", 0, None)],
        description="% satisfied within 0-100.",
    ),
    TableSuite(
        "marts.mart_support_kpis_monthly",
        ["kpi_cell_id"],
        layer="mart",
        allow_empty=True,
        rules=[
            between("tickets_per_1000_customers", 0, None),
            between("reopen_rate_pct", 0, 100),
            between("escalation_rate_pct", 0, 100),
            between("one_touch_rate_pct", 0, 100),
        ],
        description="No negative durations (reply, resolution); rates within 0-100.",
    ),
    TableSuite(
        "marts.mart_account_health_daily",
        ["account_health_day_id"],
        layer="mart",
        allow_empty=True,
        rules=[
            between("health_score", 0, 100),
            in_set("health_band", ["at_risk", "neutral", "growth"]),
            between("revenue_at_risk", 0, None),
        ],
        description="Health score within 0-100; known bands; no negative revenue at risk.",
    ),
    TableSuite(
        "marts.mart_close_the_loop",
        ["follow_up_id"],
        layer="mart",
        allow_empty=True,
        rules=[between("days_open", 0, None), not_null("account_id", WARNING, 0.9)],
        description="Every follow-up once; no negative ages.",
    ),
]
"""Marts are authored only when they exist in the authoring warehouse; duration columns
(``*_hours``/``*_minutes``/``*_seconds`` of reply, resolution, wait… times) get a >= 0 rule."""


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".", 1)
    return dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    )


def build_query(suite: TableSuite, available: dict[str, str]) -> str:
    wanted = list(dict.fromkeys([*suite.key, *suite.timestamps, *suite.columns]))
    wanted += [
        ref.column for ref in suite.refs if ref.expression is None and ref.column not in wanted
    ]
    if "_loaded_at" in available and "_loaded_at" not in wanted:
        wanted.append("_loaded_at")
    missing = [c for c in wanted if c not in available]
    if missing:
        raise SystemExit(f"{suite.table}: columns {missing} do not exist; fix the suite in code")
    select = [f"t.{q(c)}" for c in wanted]
    for ref in suite.refs:
        value = ref.expression or f"t.{q(ref.column)}"
        if ref.expression:
            select.append(f"{value} as {q(ref.column)}")
        schema, table = ref.target.split(".")
        select.append(
            f"({value} is null or exists (select 1 from {q(schema)}.{q(table)} r "
            f"where r.{q(ref.target_column)}::varchar = ({value})::varchar)) as {q(ref.flag)}"
        )
    for rule in suite.rules:
        select += rule.select
    schema, table = suite.table.split(".")
    return f"select {', '.join(select)} from {q(schema)}.{q(table)} t"


def expectations_for(suite: TableSuite, available: dict[str, str]) -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    result = []
    if len(suite.key) == 1:
        result.append(ex.ExpectColumnValuesToNotBeNull(column=suite.key[0]))
        result.append(ex.ExpectColumnValuesToBeUnique(column=suite.key[0]))
    elif suite.key:
        for column in suite.key:
            result.append(ex.ExpectColumnValuesToNotBeNull(column=column))
        result.append(ex.ExpectCompoundColumnsToBeUnique(column_list=suite.key))
    for column in suite.timestamps:
        result.append(
            ex.ExpectColumnValuesToBeBetween(
                column=column,
                max_value={"$PARAMETER": "now"},
                meta={"cx360": "not in the future (reference now + 5 minutes)"},
            )
        )
    for ref in suite.refs:
        result.append(
            ex.ExpectColumnValuesToBeInSet(
                column=ref.flag,
                value_set=[True],
                mostly=ref.mostly,
                severity=ref.severity,
                meta={
                    "cx360": f"referential coverage: {ref.column} in {ref.target}.{ref.target_column}"
                    + (f" ({ref.note})" if ref.note else "")
                },
            )
        )
    for rule in suite.rules:
        cls = getattr(ex, rule.expectation)
        meta = {"cx360": rule.note} if rule.note else {}
        result.append(cls(**rule.kwargs, severity=rule.severity, meta=meta))
    if suite.layer == "mart":
        explicit = {rule.kwargs.get("column") for rule in suite.rules}
        for column in available:
            if is_duration(column) and column not in explicit:
                result.append(
                    ex.ExpectColumnValuesToBeBetween(
                        column=column, min_value=0, meta={"cx360": "no negative durations"}
                    )
                )
    result.append(
        ex.ExpectTableRowCountToBeBetween(
            min_value={"$PARAMETER": "min_rows"},
            max_value={"$PARAMETER": "max_rows"},
            meta={"cx360": "volume within the bounds of recent loads"},
        )
    )
    return result


def is_duration(column: str) -> bool:
    """Durations in marts (reply, resolution, wait, handle times): never negative."""
    words = ("time", "resolution", "reply", "wait", "duration", "handle")
    return column.endswith(("_hours", "_minutes", "_seconds")) and any(w in column for w in words)


def mart_suite_for(con, suite: TableSuite) -> TableSuite | None:
    available = table_columns(con, suite.table)
    if not available:
        return None
    if suite.key and not all(k in available for k in suite.key):
        print(f"  skip {suite.table}: key {suite.key} not in its columns", file=sys.stderr)
        return None
    rule_columns = [r.kwargs.get("column") for r in suite.rules]
    suite.rules = [r for r in suite.rules if r.kwargs.get("column") in available or r.select]
    if len(suite.rules) != len(rule_columns):
        print(f"  {suite.table}: dropped rules on missing columns", file=sys.stderr)
    suite.columns = [c for c in available if is_duration(c)] + [
        r.kwargs["column"] for r in suite.rules if not r.select
    ]
    suite.columns = list(dict.fromkeys(suite.columns))
    return suite


def author(warehouse: Path, target: Path) -> list[TableSuite]:
    import great_expectations as gx

    with duckdb.connect(str(warehouse), read_only=True) as con:
        suites: list[tuple[TableSuite, str, dict[str, str]]] = []
        for suite in RAW_SUITES:
            available = table_columns(con, suite.table)
            if not available:
                print(f"  skip {suite.table}: not in the warehouse", file=sys.stderr)
                continue
            suites.append((suite, build_query(suite, available), available))
        for mart in MART_SUITES:
            suite = mart_suite_for(con, mart)
            if suite is None:
                print(f"  skip {mart.table}: not built yet", file=sys.stderr)
                continue
            available = table_columns(con, suite.table)
            suites.append((suite, build_query(suite, available), available))
    context = gx.get_context(mode="file", project_root_dir=str(target.parent))
    datasource = context.data_sources.add_pandas(DATASOURCE)
    for suite, query, available in suites:
        asset = datasource.add_dataframe_asset(suite.name)
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
        gx_suite = gx.ExpectationSuite(
            name=suite.name,
            expectations=expectations_for(suite, available),
            meta={
                "cx360": {
                    "table": suite.table,
                    "asset_key": suite.asset_key or suite.table.split("."),
                    "layer": suite.layer,
                    "query": query,
                    "key": suite.key,
                    "scope": suite.scope,
                    "references": suite.references,
                    "blocking": suite.blocking,
                    "allow_empty": suite.allow_empty,
                    "description": suite.description,
                }
            },
        )
        gx_suite = context.suites.add(gx_suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
        if suite.key:
            result_format["unexpected_index_column_names"] = suite.key
        context.checkpoints.add(
            gx.Checkpoint(
                name=suite.name,
                validation_definitions=[definition],
                actions=[],
                result_format=result_format,
            )
        )
    _tidy_config(target / "great_expectations.yml")
    return [suite for suite, _, _ in suites]


def _tidy_config(path: Path) -> None:
    text = path.read_text()
    text = text.replace("analytics_enabled:\n", "analytics_enabled: false\n")
    text = text.replace("show_how_to_buttons: true", "show_how_to_buttons: false")
    if "progress_bars:" not in text:
        text += "progress_bars:\n  globally: false\n  metric_calculations: false\n"
    path.write_text(text)


def _normalized(directory: Path) -> dict[str, Any]:
    """The context's files without generated ids, to tell real changes from id churn."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("id", "data_context_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    files: dict[str, Any] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if not path.is_file() or rel.startswith("uncommitted/") or ".ge_store_backend_id" in rel:
            continue
        if path.suffix == ".json":
            files[rel] = strip(json.loads(path.read_text()))
        elif path.suffix == ".yml":
            import yaml

            files[rel] = strip(yaml.safe_load(path.read_text()))
        else:
            files[rel] = path.read_bytes()
    return files


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--warehouse", type=Path, required=True, help="a warehouse filled from the sandbox"
    )
    parser.add_argument("--now", help="reference now (ISO); default: the sandbox anchor 2026-11-01")
    parser.add_argument("--target", type=Path, default=GX_DIR)
    args = parser.parse_args()
    from orchestration import validation

    now = datetime.fromisoformat(args.now) if args.now else datetime(2026, 11, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="cx360-gx-") as scratch:
        built = Path(scratch) / "gx"
        suites = author(args.warehouse, built)
        # every suite must pass on the sandbox data (warnings allowed) before it is committed
        specs = validation.load_suite_specs(built)
        data_dir = Path(scratch) / "data"
        validation._contexts.clear()
        copy = Path(scratch) / "check.duckdb"
        shutil.copyfile(args.warehouse, copy)
        with duckdb.connect(str(copy)) as con:
            failures = []
            for spec in specs:
                outcome = validation.validate(
                    con, spec, data_dir=data_dir, now=now, record=False, gx_dir=built
                )
                print("  " + outcome.summary())
                if outcome.blocking_failed:
                    failures.append(spec.name)
        if failures:
            raise SystemExit(f"suites fail on the authoring warehouse, not written: {failures}")
        if args.target.exists() and _normalized(args.target) == _normalized(built):
            print(f"{len(suites)} suites unchanged in {args.target}")
            return
        keep_uncommitted = args.target / "uncommitted"
        for child in list(args.target.iterdir()) if args.target.exists() else []:
            if child != keep_uncommitted:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        args.target.mkdir(parents=True, exist_ok=True)
        for child in built.iterdir():
            if child.name == "uncommitted":
                continue
            destination = args.target / child.name
            shutil.copytree(child, destination) if child.is_dir() else shutil.copy2(
                child, destination
            )
    print(f"wrote {len(suites)} suites to {args.target}")


if __name__ == "__main__":
    main()
