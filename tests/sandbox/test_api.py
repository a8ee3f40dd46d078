"""Each API imitation pages to exactly the ground truth, with the vendor's shapes and errors."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import requests
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_sandbox.store import WorldFiles
from cx360_sandbox.timeline import ANCHOR

from . import truth

DAY = 86_400
SALESFORCE_TABLES = {
    "Account": "sf_accounts",
    "Contact": "sf_contacts",
    "Opportunity": "sf_opportunities",
    "User": "sf_users",
    "OpportunityContactRole": "sf_opportunity_contact_roles",
}


def _gt(world: WorldFiles, sql: str) -> list[tuple]:
    con = duckdb.connect()
    for table in world.tables:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{world.path(table)}')")
    return con.execute(sql).fetchall()


# -- exact ground-truth contents ----------------------------------------------------------


@pytest.mark.parametrize("sobject", list(SALESFORCE_TABLES))
def test_salesforce_query_and_query_all_match_ground_truth(
    sandbox: RunningSandbox, tiny_world: WorldFiles, sobject: str
) -> None:
    table = SALESFORCE_TABLES[sobject]
    live = tour.salesforce_records(sandbox.url, sobject, batch_size=200)
    every = tour.salesforce_records(sandbox.url, sobject, query_all=True, batch_size=200)
    stamps = [r["SystemModstamp"] for r in live]
    assert stamps == sorted(stamps), "ORDER BY SystemModstamp holds across pages"
    assert {r["Id"] for r in live} == truth.salesforce_ids(tiny_world, table, ANCHOR, False)
    assert {r["Id"] for r in every} == truth.salesforce_ids(tiny_world, table, ANCHOR, True)
    assert len(live) == len({r["Id"] for r in live}), "no record may appear on two pages"


def test_salesforce_accounts_are_one_per_company_created(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    [(companies,)] = _gt(
        tiny_world, f"SELECT count(*) FROM gt_companies WHERE epoch(created_at) <= {ANCHOR}"
    )
    accounts = tour.salesforce_records(sandbox.url, "Account")
    assert len(accounts) == companies


def test_zendesk_exports_match_ground_truth(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    tickets = tour.zendesk_cursor_export(sandbox.url, "tickets")
    assert {t["id"] for t in tickets} == truth.zendesk_cursor_ids(tiny_world, "zd_tickets", ANCHOR)
    assert len(tickets) == len({t["id"] for t in tickets})
    users = tour.zendesk_cursor_export(sandbox.url, "users")
    assert {u["id"] for u in users} == truth.zendesk_cursor_ids(tiny_world, "zd_users", ANCHOR)
    [(distinct_tickets,)] = _gt(
        tiny_world,
        f"SELECT count(DISTINCT id) FROM zd_tickets WHERE epoch(created_at) <= {ANCHOR - 60}",
    )
    assert len(tickets) == distinct_tickets
    events = {e["id"] for e in tour.zendesk_time_export(sandbox.url, "ticket_events")}
    [(expected_events,)] = _gt(
        tiny_world, f"SELECT count(*) FROM zd_ticket_events WHERE timestamp <= {ANCHOR - 60}"
    )
    assert len(events) == expected_events
    for resource, table in (
        ("organizations", "zd_organizations"),
        ("groups", "zd_groups"),
        ("ticket_metrics", "zd_ticket_metrics"),
        ("satisfaction_ratings", "zd_satisfaction_ratings"),
    ):
        items = tour.zendesk_list(sandbox.url, resource, page_size=25)
        assert {i["id"] for i in items} == truth.visible_ids(tiny_world, table, "id", ANCHOR)
        assert len(items) == len({i["id"] for i in items}), resource


def test_survey_apis_match_ground_truth(sandbox: RunningSandbox, tiny_world: WorldFiles) -> None:
    expected = _gt(
        tiny_world,
        "SELECT source, count(*) FROM gt_survey_respondents"
        f" WHERE epoch(recorded_at) <= {ANCHOR} GROUP BY 1 ORDER BY 1",
    )
    surveys = tour.qualtrics_surveys(sandbox.url)
    assert len(surveys) == 6
    qualtrics = [r for s in surveys for r in tour.qualtrics_responses(sandbox.url, s["id"])]
    delighted = tour.delighted_responses(sandbox.url)
    assert expected == [("delighted", len(delighted)), ("qualtrics", len(qualtrics))]
    sent = sum(
        d["stats"]["sent"]
        for s in surveys
        for d in tour.qualtrics_distributions(sandbox.url, s["id"])
    )
    [(invitations,)] = _gt(
        tiny_world, f"SELECT count(*) FROM qx_invitations WHERE epoch(sent_at) <= {ANCHOR}"
    )
    assert sent == invitations
    people = tour.delighted_people(sandbox.url)
    assert {p["id"] for p in people} == truth.visible_ids(tiny_world, "dl_people", "id", ANCHOR)


def test_amplitude_export_matches_ground_truth(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    end = datetime.fromtimestamp(ANCHOR, UTC) - timedelta(hours=2)
    start = end - timedelta(days=20)
    events = list(tour.amplitude_events(sandbox.url, start, end))
    con = duckdb.connect()
    [(expected,)] = con.execute(
        f"SELECT count(*) FROM read_parquet('{tiny_world.path('amp_events')}')"
        " WHERE server_upload_time >= ? AND server_upload_time < ?",
        [start.replace(tzinfo=None), end.replace(tzinfo=None)],
    ).fetchall()
    assert len(events) == expected > 0
    assert len({e["$insert_id"] for e in events}) == len(events)
    assert {"user_id", "event_type", "event_time", "user_properties", "groups"} <= set(events[0])


# -- paging, cursors, locators ------------------------------------------------------------


def test_salesforce_pages_of_two_hundred_with_next_records_url(sandbox: RunningSandbox) -> None:
    token, instance = tour.salesforce_token(sandbox.url)
    headers = {"Authorization": f"Bearer {token}", "Sforce-Query-Options": "batchSize=200"}
    url = f"{instance}/services/data/v61.0/queryAll"
    first = requests.get(url, params={"q": "SELECT Id FROM Contact"}, headers=headers, timeout=30)
    payload = first.json()
    assert len(payload["records"]) == 200 and payload["done"] is False
    assert "/services/data/v61.0/query/" in payload["nextRecordsUrl"]  # keeps /query/
    pages = 1
    while not payload["done"]:
        payload = requests.get(
            instance + payload["nextRecordsUrl"], headers=headers, timeout=30
        ).json()
        pages += 1
    assert pages == math.ceil(payload["totalSize"] / 200)
    assert first.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_salesforce_stale_locator_is_invalid_query_locator(sandbox: RunningSandbox) -> None:
    token, instance = tour.salesforce_token(sandbox.url)
    headers = {"Authorization": f"Bearer {token}", "Sforce-Query-Options": "batchSize=200"}
    payload = requests.get(
        f"{instance}/services/data/v61.0/query", params={"q": "SELECT Id FROM Contact"},
        headers=headers, timeout=30,
    ).json()  # fmt: skip
    sandbox.server.state["salesforce"]["locator_ttl"] = 0
    stale = requests.get(instance + payload["nextRecordsUrl"], headers=headers, timeout=30)
    assert stale.status_code == 400
    assert stale.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_salesforce_incremental_where_and_ties(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    records = tour.salesforce_records(sandbox.url, "Account", "Id, SystemModstamp", batch_size=200)
    stamps = [r["SystemModstamp"] for r in records]
    assert stamps == sorted(stamps)
    assert len(stamps) > len(set(stamps)) or len(records) < 2  # ties exist (data-quality jobs)
    middle = stamps[len(stamps) // 2]
    literal = datetime.strptime(middle, "%Y-%m-%dT%H:%M:%S.000+0000").strftime("%Y-%m-%dT%H:%M:%SZ")
    later = tour.salesforce_records(sandbox.url, "Account", where=f"SystemModstamp >= {literal}")
    assert {r["Id"] for r in later} == {r["Id"] for r in records if r["SystemModstamp"] >= middle}


def test_zendesk_cursor_resumes_with_only_changed_tickets(
    sandbox: RunningSandbox, control, tiny_world: WorldFiles
) -> None:
    url = f"{sandbox.url}/zendesk/api/v2/incremental/tickets/cursor.json"
    auth = tour._zendesk_auth()
    payload = requests.get(
        url, params={"start_time": 0, "per_page": 50}, headers=auth, timeout=30
    ).json()
    pages = 1
    while not payload["end_of_stream"]:
        payload = requests.get(payload["after_url"], headers=auth, timeout=30).json()
        pages += 1
    assert pages > 2
    resume = payload["after_cursor"]
    control.advance(days=2)
    changed = requests.get(url, params={"cursor": resume}, headers=auth, timeout=30).json()
    before = truth.latest_versions(tiny_world, "zd_tickets", "id", ANCHOR - 60)
    after = truth.latest_versions(tiny_world, "zd_tickets", "id", ANCHOR + 2 * DAY - 60)
    expected = {
        i
        for i, row in after.items()
        if i not in before or row["_valid_from"] != before[i]["_valid_from"]
    }
    got = {t["id"] for t in changed["tickets"]}
    while not changed["end_of_stream"]:
        changed = requests.get(
            url, params={"cursor": changed["after_cursor"]}, headers=auth, timeout=30
        ).json()
        got |= {t["id"] for t in changed["tickets"]}
    assert got == expected and expected


def test_zendesk_ticket_export_sideloads_metric_sets(
    sandbox: RunningSandbox, control, tiny_world: WorldFiles
) -> None:
    """`include=metric_sets`: each page carries the current metric set of each of its
    tickets, as the list endpoint serves it, in the page's order; the include (unknown
    names ignored) rides on `after_url`; without it there is no sideload."""
    url = f"{sandbox.url}/zendesk/api/v2/incremental/tickets/cursor.json"
    auth = tour._zendesk_auth()
    plain = requests.get(
        url, params={"start_time": 0, "per_page": 100}, headers=auth, timeout=30
    ).json()
    assert "metric_sets" not in plain
    for now in (ANCHOR, ANCHOR + 2 * DAY):
        if now > ANCHOR:
            control.advance(days=2)
        listed = {m["ticket_id"]: m for m in tour.zendesk_list(sandbox.url, "ticket_metrics")}
        params = {"start_time": 0, "per_page": 100, "include": "nonsense,metric_sets"}
        payload = requests.get(url, params=params, headers=auth, timeout=30).json()
        if now == ANCHOR:
            assert payload["tickets"] == plain["tickets"]
        assert "nonsense" not in payload
        pages, sets = 1, []
        while True:
            tickets = payload["tickets"]
            assert payload["metric_sets"] == [listed[t["id"]] for t in tickets]
            for ticket, metric_set in zip(tickets, payload["metric_sets"], strict=True):
                updated = datetime.fromisoformat(metric_set["updated_at"]).timestamp()
                assert updated == ticket["generated_timestamp"], "the same version"
            sets += payload["metric_sets"]
            if payload["end_of_stream"]:
                break
            assert "include=nonsense%2Cmetric_sets" in payload["after_url"]
            payload = requests.get(payload["after_url"], headers=auth, timeout=30).json()
            pages += 1
        assert pages > 2
        assert len(sets) == len({m["id"] for m in sets})
        assert {m["id"] for m in sets} == truth.zendesk_metric_set_ids(tiny_world, now)


# -- deletes -------------------------------------------------------------------------------


def test_salesforce_soft_deletes_only_through_query_all_then_vanish(
    sandbox: RunningSandbox, control, tiny_world: WorldFiles
) -> None:
    control.advance(days=10)
    now = ANCHOR + 10 * DAY
    deleted = truth.salesforce_ids(tiny_world, "sf_contacts", now, True) - truth.salesforce_ids(
        tiny_world, "sf_contacts", now, False
    )
    assert deleted, "the tiny world deletes contacts just after the anchor"
    every = tour.salesforce_records(sandbox.url, "Contact", "Id, IsDeleted", query_all=True)
    live = tour.salesforce_records(sandbox.url, "Contact", "Id, IsDeleted")
    assert {r["Id"] for r in every if r["IsDeleted"]} == deleted
    assert not deleted & {r["Id"] for r in live}
    control.advance(days=20)  # past the 15-day recycle bin
    every = tour.salesforce_records(sandbox.url, "Contact", "Id", query_all=True)
    assert not deleted & {r["Id"] for r in every}


def test_zendesk_deleted_tickets_are_exported_with_status_deleted(sandbox: RunningSandbox) -> None:
    tickets = tour.zendesk_cursor_export(sandbox.url, "tickets")
    assert any(t["status"] == "deleted" for t in tickets)


# -- auth, rate limits, faults --------------------------------------------------------------


def test_wrong_credentials_are_401_in_each_vendor_shape(sandbox: RunningSandbox) -> None:
    base = sandbox.url
    creds = sandbox_credentials()
    bad_token = requests.get(
        f"{base}/salesforce-na1/services/data/v61.0/query", params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": "Bearer nope"}, timeout=10,
    )  # fmt: skip
    assert bad_token.status_code == 401 and bad_token.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    bad_secret = requests.post(
        f"{base}/salesforce/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": creds["SALESFORCE_CLIENT_ID"],
              "client_secret": "wrong", "refresh_token": creds["SALESFORCE_REFRESH_TOKEN"]},
        timeout=10,
    )  # fmt: skip
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    checks = [
        (f"{base}/zendesk/api/v2/groups.json", {"auth": ("x@y.z/token", "bad")}),
        (f"{base}/qualtrics/API/v3/surveys", {"headers": {"X-API-TOKEN": "bad"}}),
        (f"{base}/delighted/v1/people.json", {"auth": ("bad", "")}),
        (f"{base}/amplitude/api/2/export?start=20260101T00&end=20260101T01", {"auth": ("a", "b")}),
    ]
    for url, kwargs in checks:
        assert requests.get(url, timeout=10, **kwargs).status_code == 401, url


def test_token_expiry_answers_invalid_session_id(sandbox: RunningSandbox) -> None:
    sandbox.server.state["salesforce"]["token_ttl_requests"] = 1
    token, instance = tour.salesforce_token(sandbox.url)
    url = f"{instance}/services/data/v61.0/query"
    headers = {"Authorization": f"Bearer {token}"}
    ok = requests.get(url, params={"q": "SELECT Id FROM User"}, headers=headers, timeout=10)
    expired = requests.get(url, params={"q": "SELECT Id FROM User"}, headers=headers, timeout=10)
    assert ok.status_code == 200
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_rate_limit_answers_429_with_retry_after_then_recovers(
    sandbox: RunningSandbox, control
) -> None:
    control.rate_limits({"zendesk": [3, 2]})
    url = f"{sandbox.url}/zendesk/api/v2/groups.json"
    statuses = [requests.get(url, headers=tour._zendesk_auth(), timeout=10) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    retry_after = int(statuses[-1].headers["Retry-After"])
    assert 1 <= retry_after <= 2
    assert "X-Rate-Limit" in statuses[-1].headers
    time.sleep(retry_after)
    assert requests.get(url, headers=tour._zendesk_auth(), timeout=10).status_code == 200


def test_salesforce_daily_quota_is_403_request_limit_exceeded(sandbox: RunningSandbox) -> None:
    token, instance = tour.salesforce_token(sandbox.url)
    sandbox.server.state["salesforce"]["daily_limit"] = 1
    url = f"{instance}/services/data/v61.0/query"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, params={"q": "SELECT Id FROM User"}, headers=headers, timeout=10).ok
    over = requests.get(url, params={"q": "SELECT Id FROM User"}, headers=headers, timeout=10)
    assert over.status_code == 403 and over.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_injected_faults_hit_every_api(sandbox: RunningSandbox, control) -> None:
    control.faults(rate_429=1.0, retry_after_seconds=3)
    response = requests.get(f"{sandbox.url}/delighted/v1/people.json", timeout=10)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    control.faults(rate_5xx=1.0)
    assert requests.get(f"{sandbox.url}/zendesk/api/v2/groups.json", timeout=10).status_code == 503
    control.faults(rate_drop=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{sandbox.url}/qualtrics/API/v3/surveys", timeout=10)
    control.faults(rate_truncate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(
            f"{sandbox.url}/zendesk/api/v2/groups.json", headers=tour._zendesk_auth(), timeout=10
        ).json()
    control.faults()
    counters = control.status()["counters"]
    assert counters["faults_429"] == counters["faults_5xx"] == counters["faults_drop"] == 1


# -- bad input -----------------------------------------------------------------------------


def test_malformed_queries_are_clear_400s(sandbox: RunningSandbox) -> None:
    token, instance = tour.salesforce_token(sandbox.url)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{instance}/services/data/v61.0/query"
    cases = {
        "SELEC Id FROM Account": "MALFORMED_QUERY",
        "SELECT Nope FROM Account": "INVALID_FIELD",
        "SELECT Id FROM Account WHERE SystemModstamp >> 2024": "MALFORMED_QUERY",
        "SELECT Id FROM Widget": "INVALID_TYPE",
    }
    for soql, code in cases.items():
        response = requests.get(url, params={"q": soql}, headers=headers, timeout=10)
        assert response.status_code == 400 and response.json()[0]["errorCode"] == code, soql
    creds = sandbox_credentials()
    auth = (creds["AMPLITUDE_API_KEY"], creds["AMPLITUDE_SECRET_KEY"])
    bad_range = requests.get(
        f"{sandbox.url}/amplitude/api/2/export", params={"start": "2026-01-01", "end": "x"},
        auth=auth, timeout=10,
    )  # fmt: skip
    assert bad_range.status_code == 400 and b"YYYYMMDDTHH" in bad_range.content
    bad_start = requests.get(
        f"{sandbox.url}/zendesk/api/v2/incremental/tickets/cursor.json",
        params={"start_time": "yesterday"}, headers=tour._zendesk_auth(), timeout=10,
    )  # fmt: skip
    assert bad_start.status_code == 400 and "start_time" in bad_start.json()["description"]


def test_clock_moves_forward_only_and_not_past_the_horizon(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.url}/_sandbox/clock"
    assert requests.post(url, json={"advance_hours": -1}, timeout=10).status_code == 400
    assert requests.post(url, json={"advance_days": 400}, timeout=10).status_code == 400
    moved = requests.post(url, json={"advance_hours": 6}, timeout=10).json()
    assert moved["now_epoch"] == ANCHOR + 6 * 3600
    response = requests.get(f"{sandbox.url}/delighted/v1/people.json", timeout=10)
    assert response.headers["Date"] == "Sun, 01 Nov 2026 06:00:00 GMT"


def test_zendesk_time_export_small_pages_lose_nothing(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    """Boundary items repeat (as documented) but none is skipped, even for tiny pages."""
    url = f"{sandbox.url}/zendesk/api/v2/incremental/ticket_events.json?start_time=0&per_page=3"
    seen: set[int] = set()
    for _ in range(60):
        payload = requests.get(url, headers=tour._zendesk_auth(), timeout=10).json()
        seen |= {event["id"] for event in payload["ticket_events"]}
        url = payload["next_page"]
        assert "per_page=3" in url
    next_start = int(url.split("start_time=")[1].split("&")[0])
    [(expected,)] = _gt(
        tiny_world, f"SELECT count(*) FROM zd_ticket_events WHERE timestamp < {next_start}"
    )
    [(within,)] = _gt(
        tiny_world,
        f"SELECT count(*) FROM zd_ticket_events WHERE timestamp < {next_start} AND id IN "
        f"({', '.join(str(i) for i in seen)})",
    )
    assert within == expected > 0


def test_zendesk_time_export_full_page_in_one_second_moves_on(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    [(second, count)] = _gt(
        tiny_world,
        "SELECT timestamp, count(*) FROM zd_ticket_events GROUP BY 1 ORDER BY 1 LIMIT 1",
    )
    url = f"{sandbox.url}/zendesk/api/v2/incremental/ticket_events.json"
    payload = requests.get(
        url, params={"start_time": second, "per_page": 1}, headers=tour._zendesk_auth(), timeout=10
    ).json()
    assert payload["end_time"] == second + 1
    assert len(payload["ticket_events"]) == count
    assert {e["timestamp"] for e in payload["ticket_events"]} == {second}
