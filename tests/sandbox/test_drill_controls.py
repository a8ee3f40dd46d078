"""The drills' sandbox controls: `/_sandbox/corruption` and `/_sandbox/drift`."""

from __future__ import annotations

import requests
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox

from tests.conftest import SandboxControl


def _delighted_scores(url: str) -> dict[str, object]:
    return {r["id"]: r["score"] for r in tour.delighted_responses(url)}


def test_corruption_is_seeded_per_record_and_reported(
    sandbox: RunningSandbox, control: SandboxControl
) -> None:
    clean = _delighted_scores(sandbox.url)
    control.corruption(rate=0.2, seed=3, endpoints=["delighted.survey_responses"],
                       kinds=["out_of_range"])  # fmt: skip
    first = _delighted_scores(sandbox.url)
    again = _delighted_scores(sandbox.url)  # served twice: damaged the same way
    report = control.corruption()
    damaged = {key for key in clean if first[key] != clean[key]}
    assert first == again
    assert {entry["key"] for entry in report["records"]} == damaged
    assert 0.1 * len(clean) < len(damaged) < 0.3 * len(clean)
    assert all(first[key] not in range(11) for key in damaged)
    assert report["counts"] == {"out_of_range": len(damaged)}
    assert all(entry["times"] == 2 for entry in report["records"])
    requests.delete(f"{sandbox.url}/_sandbox/corruption", timeout=10).raise_for_status()
    assert _delighted_scores(sandbox.url) == clean


def _ticket_export(url: str) -> tuple[list[dict], list[dict]]:
    """(tickets, metric sets) of the whole ticket export with `include=metric_sets`."""
    export = f"{url}/zendesk/api/v2/incremental/tickets/cursor.json"
    params: dict[str, object] = {"start_time": 0, "include": "metric_sets"}
    tickets: list[dict] = []
    sets: list[dict] = []
    while True:
        response = requests.get(export, params=params, headers=tour._zendesk_auth(), timeout=30)
        payload = response.json()
        tickets += payload["tickets"]
        sets += payload["metric_sets"]
        if payload["end_of_stream"]:
            return tickets, sets
        params = {"cursor": payload["after_cursor"], "include": "metric_sets"}


def test_corruption_of_tickets_and_their_metric_sets_is_independent(
    sandbox: RunningSandbox, control: SandboxControl
) -> None:
    """The ticket export serves two endpoints' records: tickets and the sideloaded metric
    sets (`zendesk.ticket_metrics`, like `/ticket_metrics.json`). Each is damaged only when
    its own endpoint is on, and a metric set the same way on both routes."""
    clean_tickets, clean_sets = _ticket_export(sandbox.url)
    settings: dict[str, object] = {"rate": 0.2, "seed": 3}
    control.corruption(**settings, endpoints=["zendesk.ticket_metrics"])
    tickets, damaged_sets = _ticket_export(sandbox.url)
    assert tickets == clean_tickets
    pairs = zip(clean_sets, damaged_sets, strict=True)
    changed = {clean["id"] for clean, served in pairs if clean != served}
    assert changed
    listed = {m["id"]: m for m in tour.zendesk_list(sandbox.url, "ticket_metrics")}
    assert all(listed[m["id"]] == m for m in damaged_sets if m["id"] in changed)
    report = control.corruption()
    assert {e["stream"] for e in report["records"]} == {"ticket_metrics"}
    assert changed <= {e["key"] for e in report["records"]}

    control.corruption(**settings, endpoints=["zendesk.tickets"])
    damaged_tickets, sets = _ticket_export(sandbox.url)
    assert sets == clean_sets and damaged_tickets != clean_tickets

    control.corruption(**settings, endpoints=["zendesk.tickets", "zendesk.ticket_metrics"])
    assert _ticket_export(sandbox.url) == (damaged_tickets, damaged_sets)


def test_corruption_rejects_unknown_settings(sandbox: RunningSandbox) -> None:
    for payload in ({"endpoints": ["nope"]}, {"kinds": ["nope"]}, {"rate": 2}, {"x": 1}):
        response = requests.post(f"{sandbox.url}/_sandbox/corruption", json=payload, timeout=10)
        assert response.status_code == 400, payload


def test_drift_changes_salesforce_describe_and_zendesk_answers(
    sandbox: RunningSandbox, control: SandboxControl
) -> None:
    control.drift(
        salesforce={"Account": {"add": {"Health__c": "DOUBLE"}, "drop": ["Website"],
                                "widen": {"NumberOfEmployees": "DOUBLE"}}},
        zendesk={"tickets": {"add": {"tier": "'gold'"}, "drop": ["priority"],
                             "widen": {"group_id": "VARCHAR"}}},
    )  # fmt: skip
    token, instance = tour.salesforce_token(sandbox.url)
    describe = requests.get(
        f"{instance}/services/data/v61.0/sobjects/Account/describe",
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    ).json()  # fmt: skip
    types = {field["name"]: field["type"] for field in describe["fields"]}
    assert types["Health__c"] == "double" and "Website" not in types
    assert types["NumberOfEmployees"] == "double"
    accounts = tour.salesforce_records(sandbox.url, "Account", fields="Id, Health__c")
    assert all(isinstance(a["Health__c"], float) for a in accounts)
    tickets = tour.zendesk_cursor_export(sandbox.url, "tickets")
    assert tickets and all(t["tier"] == "gold" and "priority" not in t for t in tickets)
    assert all(t["group_id"] is None or isinstance(t["group_id"], str) for t in tickets)
    bad = requests.post(f"{sandbox.url}/_sandbox/drift", timeout=10,
                        json={"zendesk": {"tickets": {"add": {"x": "no_such_column"}}}})  # fmt: skip
    assert bad.status_code == 400
