"""tap-salesforce against the sandbox: the singer-sdk suite plus SOQL paging behaviour.

Expected record sets come from `cx360_sandbox.tour`'s naive pager (plain requests, no
retries, no state), so the tap is checked against the server, not against itself.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from singer_sdk.testing import get_tap_test_class
from singer_sdk.testing.tap_tests import (
    DEFAULT_JSONSCHEMA_VALIDATOR,
    StreamRecordMatchesStreamSchema,
)
from tap_salesforce.client import (
    CREDENTIAL_VARS,
    DailyApiLimitExceededError,
    MissingCredentialsError,
    SalesforceAPIError,
    bundled_schema,
    normalize_utc,
    parse_datetime,
    soql_datetime,
)
from tap_salesforce.streams import ContactsStream
from tap_salesforce.tap import TapSalesforce

from tests.taps.suite_sandbox import start_suite_sandbox

OBJECTS = {
    "accounts": "Account",
    "contacts": "Contact",
    "opportunities": "Opportunity",
    "users": "User",
    "opportunity_contact_roles": "OpportunityContactRole",
}
FAST = {"max_retry_seconds": 60}

# singer-sdk builds its suite at collection time, against a live URL: see suite_sandbox.
_SUITE_SANDBOX = start_suite_sandbox("salesforce")

_BaseSuite = get_tap_test_class(
    TapSalesforce, config={"base_url": _SUITE_SANDBOX.url + "/salesforce", **FAST}
)


class _CentsAwareRecordSchemaTest(StreamRecordMatchesStreamSchema):
    """The SDK's record-vs-schema check, with `multipleOf` done in decimal arithmetic.

    jsonschema divides floats (4195.31 / 0.01 == 419530.99999999994) and so rejects valid
    currency amounts; everything else is validated exactly as the SDK does.
    """

    def test(self) -> None:
        schema = copy.deepcopy(self.stream.schema)
        cents = [name for name, prop in schema["properties"].items() if prop.pop("multipleOf", 0)]
        validator = DEFAULT_JSONSCHEMA_VALIDATOR(
            schema, format_checker=DEFAULT_JSONSCHEMA_VALIDATOR.FORMAT_CHECKER
        )
        for record in self.stream_records:
            errors = [
                f"{e.message} ({'.'.join(map(str, e.path))})" for e in validator.iter_errors(record)
            ]
            assert not errors, f"Record does not match stream schema: {errors}"
            for name in cents:
                if record.get(name) is not None:
                    assert Decimal(str(record[name])) % Decimal("0.01") == 0, (name, record[name])


class TestTapSalesforceSuite(_BaseSuite):  # type: ignore[misc, valid-type]
    """singer-sdk's built-in tap, stream and attribute tests."""

    test_tap_stream_record_matches_stream_schema = _CentsAwareRecordSchemaTest().run

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _credentials(cls) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in sandbox_credentials().items():
                patch.setenv(name, value)
            yield


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sandbox_credentials().items():
        monkeypatch.setenv(name, value)


@dataclass
class Run:
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    error: Exception | None = None
    output: str = ""

    @property
    def state(self) -> dict:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str) -> set[str]:
        return {record["Id"] for record in self.records[stream]}


def run_tap(
    config: dict[str, Any],
    state: dict | None = None,
    streams: set[str] | None = None,
    before_sync: Callable[[TapSalesforce], None] | None = None,
) -> Run:
    """Sync in-process, capturing messages; an exception is returned, not raised."""
    run = Run()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            tap = TapSalesforce(config=config, state=state or {})
            for name, stream in tap.streams.items():
                if streams is not None and name not in streams:
                    stream.selected = False
            if before_sync is not None:
                before_sync(tap)
            tap.sync_all()
        except Exception as error:
            run.error = error
    run.output = out.getvalue()
    for line in run.output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    return run


def config_for(sandbox: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {"base_url": sandbox.url + "/salesforce", **FAST, **extra}


def naive(sandbox: RunningSandbox, stream: str, where: str = "") -> list[dict]:
    """The server's answer through the plain pager: queryAll where IsDeleted exists."""
    sobject = OBJECTS[stream]
    soft = sobject != "User"
    fields = "Id, SystemModstamp" + (", IsDeleted" if soft else "")
    return tour.salesforce_records(sandbox.url, sobject, fields, query_all=soft, where=where)


def bookmark(state: dict, stream: str) -> str:
    return state["bookmarks"][stream]["replication_key_value"]


def sf_state(sandbox: RunningSandbox) -> dict:
    return sandbox.server.state["salesforce"]


def make_contact_ties(sandbox: RunningSandbox, first: int, last: int) -> str:
    """Give contacts at positions first..last (SystemModstamp order) one shared stamp.

    Uses the stamp of position `last`, so the order stays ascending. Returns it, normalised.
    """
    rows = naive(sandbox, "contacts")
    tied_ids = [row["Id"] for row in rows[first : last + 1]]
    stamp = parse_datetime(rows[last]["SystemModstamp"]).replace(tzinfo=None)
    server = sandbox.server
    with server.lock:
        placeholders = ", ".join("?" for _ in tied_ids)
        server.world.execute(
            f"UPDATE sf_contacts SET SystemModstamp = ? WHERE Id IN ({placeholders})",
            [stamp, *tied_ids],
        )
    server.set_now(server.now)  # drop the server's cached "current rows" tables
    return normalize_utc(rows[last]["SystemModstamp"])


# -- unit ------------------------------------------------------------------------------------
def test_datetimes_normalise_to_one_utc_format() -> None:
    assert normalize_utc("2024-01-01T12:34:56.000+0000") == "2024-01-01T12:34:56.000000Z"
    assert normalize_utc("2024-01-01T14:34:56.5+0200") == "2024-01-01T12:34:56.500000Z"
    assert normalize_utc("2024-01-01T12:34:56Z") == "2024-01-01T12:34:56.000000Z"
    assert soql_datetime(parse_datetime("2024-01-01T12:34:56.789+0000")) == "2024-01-01T12:34:56Z"


def test_cli_about_lists_settings_without_secrets() -> None:
    result = CliRunner().invoke(TapSalesforce.cli, ["--about", "--format=json"])
    assert result.exit_code == 0, result.output
    settings = json.loads(result.output)["settings"]["properties"]
    assert {"base_url", "start_date", "max_retry_seconds", "page_size", "lookback_seconds"} <= set(
        settings
    )
    assert not any("secret" in name or "token" in name for name in settings)


# -- full and incremental syncs ----------------------------------------------------------------
def test_full_sync_matches_the_server(sandbox: RunningSandbox) -> None:
    run = run_tap(config_for(sandbox, page_size=200))
    assert run.error is None, run.error
    for stream in OBJECTS:
        expected = naive(sandbox, stream)
        assert len(run.records[stream]) == len(expected), stream
        assert run.ids(stream) == {row["Id"] for row in expected}, stream
        last = normalize_utc(expected[-1]["SystemModstamp"])
        assert bookmark(run.state, stream) == last, stream
    account = run.records["accounts"][0]
    assert "attributes" not in account
    assert account["SystemModstamp"].endswith("Z") and account["CreatedDate"].endswith("Z")
    assert all(r["_sdc_deleted_at"] is None for r in run.records["users"])
    # Users older than start_date are still read: owners are needed for joins.
    assert any(r["SystemModstamp"] < "2023-01-01" for r in run.records["users"])


def test_incremental_sync_reads_exactly_the_new_and_changed_rows(
    sandbox: RunningSandbox, control: Any
) -> None:
    first = run_tap(config_for(sandbox))
    assert first.error is None, first.error
    control.advance(days=3)
    second = run_tap(config_for(sandbox), state=first.state)
    assert second.error is None, second.error

    deleted_seen = 0
    for stream in OBJECTS:
        since = parse_datetime(bookmark(first.state, stream)) - timedelta(seconds=300)
        expected = naive(sandbox, stream, where=f"SystemModstamp >= {soql_datetime(since)}")
        assert sorted(r["Id"] for r in second.records[stream]) == sorted(
            row["Id"] for row in expected
        ), stream
        for record in second.records[stream]:
            if record.get("IsDeleted"):
                deleted_seen += 1
                assert record["_sdc_deleted_at"] == record["SystemModstamp"]
            else:
                assert record["_sdc_deleted_at"] is None
    assert deleted_seen >= 1  # seed 42 deletes a contact just after the anchor
    assert bookmark(second.state, "contacts") > bookmark(first.state, "contacts")


# -- auth ----------------------------------------------------------------------------------------
def test_token_expiry_mid_sync_refreshes_and_completes(sandbox: RunningSandbox) -> None:
    clean = {stream: {row["Id"] for row in naive(sandbox, stream)} for stream in OBJECTS}
    sf_state(sandbox)["token_ttl_requests"] = 2
    run = run_tap(config_for(sandbox, page_size=200))
    assert run.error is None, run.error
    for stream in OBJECTS:
        assert run.ids(stream) == clean[stream], stream
    log = sandbox.server.request_log
    assert sum(1 for e in log if e["path"].endswith("/oauth2/token")) >= 4
    assert sum(1 for e in log if e["status"] == 401) >= 3


def test_missing_credentials_are_all_named(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    # Discovery still works offline, from the bundled schemas.
    tap = TapSalesforce(config=config_for(sandbox))
    assert tap.streams["accounts"].schema == bundled_schema("accounts")
    run = run_tap(config_for(sandbox))
    assert isinstance(run.error, MissingCredentialsError)
    for name in CREDENTIAL_VARS:
        assert name in str(run.error)
    assert not run.records


def test_rejected_refresh_token_is_a_clear_error_without_secrets(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_REFRESH_TOKEN", "wrong-refresh-token-value")
    run = run_tap(config_for(sandbox))
    assert isinstance(run.error, SalesforceAPIError)
    message = str(run.error)
    assert "invalid_grant" in message and "SALESFORCE_REFRESH_TOKEN" in message
    assert "wrong-refresh-token-value" not in message
    assert sandbox_credentials()["SALESFORCE_CLIENT_SECRET"] not in message


# -- faults, quota, locators, ties ---------------------------------------------------------------
def test_transient_faults_give_the_same_records_as_a_clean_run(
    sandbox: RunningSandbox, control: Any
) -> None:
    clean = run_tap(config_for(sandbox, page_size=200))
    assert clean.error is None, clean.error
    control.faults(
        rate_429=0.12,
        rate_5xx=0.12,
        rate_drop=0.06,
        rate_truncate=0.06,
        retry_after_seconds=1,
        seed=11,
        apis=["salesforce"],
    )
    faulty = run_tap(config_for(sandbox, page_size=200))
    assert faulty.error is None, faulty.error
    counters = control.status()["counters"]
    assert counters["faults_429"] + counters["faults_5xx"] >= 1
    assert counters["faults_drop"] + counters["faults_truncate"] >= 1
    for stream in OBJECTS:
        by_id = {r["Id"]: r for r in faulty.records[stream]}
        assert by_id == {r["Id"]: r for r in clean.records[stream]}, stream
    assert faulty.state == clean.state


def test_daily_quota_stops_with_state_emitted_then_resumes(sandbox: RunningSandbox) -> None:
    def allow_one_query(tap: TapSalesforce) -> None:
        # Discovery has spent its describe calls; allow exactly the first contacts page.
        sf_state(sandbox)["daily_limit"] = sf_state(sandbox)["api_usage"] + 1

    config = config_for(sandbox, page_size=200)
    stopped = run_tap(config, streams={"contacts"}, before_sync=allow_one_query)
    assert isinstance(stopped.error, DailyApiLimitExceededError)
    assert "REQUEST_LIMIT_EXCEEDED" in str(stopped.error)
    assert len(stopped.records["contacts"]) == 200
    # The state after the last complete page was emitted before the error.
    assert bookmark(stopped.state, "contacts") == stopped.records["contacts"][-1]["SystemModstamp"]

    sf_state(sandbox)["daily_limit"] = 15_000_000
    resumed = run_tap(config, state=stopped.state, streams={"contacts"})
    assert resumed.error is None, resumed.error
    expected = {row["Id"] for row in naive(sandbox, "contacts")}
    assert stopped.ids("contacts") | resumed.ids("contacts") == expected


def test_ties_across_a_page_boundary_survive_an_interrupted_sync(
    sandbox: RunningSandbox,
) -> None:
    tie = make_contact_ties(sandbox, 190, 215)  # page 1 ends inside the tie group
    config = config_for(sandbox, page_size=200, lookback_seconds=0)

    def allow_one_query(tap: TapSalesforce) -> None:
        sf_state(sandbox)["daily_limit"] = sf_state(sandbox)["api_usage"] + 1

    stopped = run_tap(config, streams={"contacts"}, before_sync=allow_one_query)
    assert isinstance(stopped.error, DailyApiLimitExceededError)
    assert bookmark(stopped.state, "contacts") == tie

    sf_state(sandbox)["daily_limit"] = 15_000_000
    resumed = run_tap(config, state=stopped.state, streams={"contacts"})
    assert resumed.error is None, resumed.error
    # `>=` re-reads the whole tie group (26 rows) instead of skipping its unread tail.
    assert sum(1 for r in resumed.records["contacts"] if r["SystemModstamp"] == tie) == 26
    expected = {row["Id"] for row in naive(sandbox, "contacts")}
    assert stopped.ids("contacts") | resumed.ids("contacts") == expected


def test_stale_query_locator_restarts_from_the_last_bookmark(sandbox: RunningSandbox) -> None:
    make_contact_ties(sandbox, 190, 215)
    sf_state(sandbox)["locator_ttl"] = -1  # every queryMore answers INVALID_QUERY_LOCATOR
    run = run_tap(config_for(sandbox, page_size=200), streams={"contacts"})
    assert run.error is None, run.error
    assert run.ids("contacts") == {row["Id"] for row in naive(sandbox, "contacts")}
    assert len(run.records["contacts"]) == 200 + (359 - 190)  # page 1, then ties onwards
    assert any(e["status"] == 400 for e in sandbox.server.request_log)


# -- errors and schemas ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patch", "code", "text"),
    [
        ("fields", "INVALID_FIELD", "No such column 'Bogus__c'"),
        ("soql", "MALFORMED_QUERY", "unexpected token"),
    ],
)
def test_bad_queries_are_clear_fatal_errors(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, patch: str, code: str, text: str
) -> None:
    if patch == "fields":
        monkeypatch.setattr(
            ContactsStream, "query_fields", lambda self: ["Id", "SystemModstamp", "Bogus__c"]
        )
    else:
        monkeypatch.setattr(ContactsStream, "build_soql", lambda self, start: "SELEC Id FROM X")
    run = run_tap(config_for(sandbox), streams={"contacts"})
    assert isinstance(run.error, SalesforceAPIError)
    message = str(run.error)
    assert code in message and text in message and "/queryAll" in message
    for token in sf_state(sandbox)["tokens"]:
        assert token not in message and token not in run.output


def test_schemas_come_from_describe_and_follow_drift(sandbox: RunningSandbox) -> None:
    tap = TapSalesforce(config=config_for(sandbox))
    accounts = tap.streams["accounts"].schema["properties"]
    assert accounts["AnnualRevenue"] == {"type": ["number", "null"], "multipleOf": 0.01}
    assert accounts["Customer_Since__c"] == {"type": ["string", "null"], "format": "date"}
    assert accounts["SystemModstamp"] == {"type": "string", "format": "date-time"}
    assert accounts["Seats__c"] == {"type": ["integer", "null"]}
    assert accounts["IsDeleted"] == {"type": "boolean"}
    assert accounts["_sdc_deleted_at"]["format"] == "date-time"
    for name, stream in tap.streams.items():  # the bundled fallback is the same org
        assert stream.schema == bundled_schema(name), name

    # A custom field added in the org becomes a new property and is selected in the SOQL.
    server = sandbox.server
    with server.lock:
        server.world.execute("ALTER TABLE sf_accounts ADD COLUMN Health_Score__c DOUBLE")
        server.world.execute("UPDATE sf_accounts SET Health_Score__c = 0.75")
    server.set_now(server.now)
    run = run_tap(config_for(sandbox), streams={"accounts"})
    assert run.error is None, run.error
    tap = TapSalesforce(config=config_for(sandbox))
    assert tap.streams["accounts"].schema["properties"]["Health_Score__c"] == {
        "type": ["number", "null"]
    }
    assert {r["Health_Score__c"] for r in run.records["accounts"]} == {0.75}


def test_query_start_applies_lookback_and_start_date(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARS:  # no network: bundled schemas, no token
        monkeypatch.delenv(name, raising=False)
    state = {
        "bookmarks": {
            name: {"replication_key": "SystemModstamp", "replication_key_value": value}
            for name, value in (
                ("contacts", "2026-10-31T17:28:08.500000Z"),
                ("accounts", "2023-03-01T00:02:00.000000Z"),
            )
        }
    }
    config = {"start_date": "2023-03-01T00:00:00Z", "lookback_seconds": 300}
    streams = TapSalesforce(config=config, state=state).streams
    start = {name: soql_datetime(streams[name].query_start(None)) for name in streams}
    assert start["contacts"] == "2026-10-31T17:23:08Z"  # bookmark - 300 s, floored
    assert start["accounts"] == "2023-03-01T00:00:00Z"  # never before start_date
    assert start["opportunities"] == "2023-03-01T00:00:00Z"  # first sync: start_date
    assert start["users"] == "1970-01-01T00:00:00Z"  # reference table: full history
    soql = streams["contacts"].build_soql(streams["contacts"].query_start(None))
    assert soql.endswith(
        "FROM Contact WHERE SystemModstamp >= 2026-10-31T17:23:08Z ORDER BY SystemModstamp ASC"
    )
    assert soql.startswith("SELECT Id, AccountId,") and "_sdc_deleted_at" not in soql
