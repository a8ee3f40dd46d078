"""Plain-`requests` clients that page through every sandbox endpoint.

Used by `cx360 sandbox show` to print what the sandbox serves, and by the tests to check the
server's paging against the ground truth. Deliberately naive: no retries, no state.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from .server.credentials import sandbox_credentials

SALESFORCE_OBJECTS = ["Account", "Contact", "Opportunity", "User", "OpportunityContactRole"]
TIMEOUT = 60


def salesforce_token(base: str) -> tuple[str, str]:
    creds = sandbox_credentials()
    response = requests.post(
        f"{base}/salesforce/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds["SALESFORCE_CLIENT_ID"],
            "client_secret": creds["SALESFORCE_CLIENT_SECRET"],
            "refresh_token": creds["SALESFORCE_REFRESH_TOKEN"],
        },
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    payload = response.json()
    return payload["access_token"], payload["instance_url"]


def salesforce_records(
    base: str, sobject: str, fields: str = "Id, SystemModstamp", query_all: bool = False,
    where: str = "", batch_size: int = 2000,
) -> list[dict[str, Any]]:  # fmt: skip
    token, instance = salesforce_token(base)
    headers = {
        "Authorization": f"Bearer {token}",
        "Sforce-Query-Options": f"batchSize={batch_size}",
    }
    soql = f"SELECT {fields} FROM {sobject}"
    if where:
        soql += f" WHERE {where}"
    soql += " ORDER BY SystemModstamp"
    endpoint = "queryAll" if query_all else "query"
    url = f"{instance}/services/data/v61.0/{endpoint}"
    response = requests.get(url, params={"q": soql}, headers=headers, timeout=TIMEOUT)
    records: list[dict[str, Any]] = []
    while True:
        response.raise_for_status()
        payload = response.json()
        records.extend(payload["records"])
        if payload["done"]:
            return records
        response = requests.get(
            instance + payload["nextRecordsUrl"], headers=headers, timeout=TIMEOUT
        )


def _zendesk_auth() -> dict[str, str]:
    creds = sandbox_credentials()
    raw = f"{creds['ZENDESK_EMAIL']}/token:{creds['ZENDESK_API_TOKEN']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def zendesk_cursor_export(base: str, resource: str, start_time: int = 0) -> list[dict]:
    url = f"{base}/zendesk/api/v2/incremental/{resource}/cursor.json"
    params: dict[str, Any] = {"start_time": start_time}
    items: list[dict] = []
    while True:
        response = requests.get(url, params=params, headers=_zendesk_auth(), timeout=TIMEOUT)
        response.raise_for_status()
        payload = response.json()
        items.extend(payload[resource])
        if payload["end_of_stream"]:
            return items
        params = {"cursor": payload["after_cursor"]}


def zendesk_time_export(base: str, resource: str, start_time: int = 0) -> list[dict]:
    """Time-based exports repeat items at page boundaries; callers dedupe by id."""
    url = f"{base}/zendesk/api/v2/incremental/{resource}.json?start_time={start_time}"
    items: list[dict] = []
    while True:
        response = requests.get(url, headers=_zendesk_auth(), timeout=TIMEOUT)
        response.raise_for_status()
        payload = response.json()
        items.extend(payload[resource])
        if payload["end_of_stream"]:
            return items
        url = payload["next_page"]


def zendesk_list(base: str, resource: str, page_size: int = 100) -> list[dict]:
    url: str | None = f"{base}/zendesk/api/v2/{resource}.json?page[size]={page_size}"
    items: list[dict] = []
    while url:
        response = requests.get(url, headers=_zendesk_auth(), timeout=TIMEOUT)
        response.raise_for_status()
        payload = response.json()
        items.extend(payload[resource])
        url = payload["links"]["next"] if payload["meta"]["has_more"] else None
    return items


def qualtrics_surveys(base: str) -> list[dict]:
    headers = {"X-API-TOKEN": sandbox_credentials()["QUALTRICS_API_TOKEN"]}
    url: str | None = f"{base}/qualtrics/API/v3/surveys"
    surveys: list[dict] = []
    while url:
        payload = requests.get(url, headers=headers, timeout=TIMEOUT).json()["result"]
        surveys.extend(payload["elements"])
        url = payload["nextPage"]
    return surveys


def qualtrics_responses(base: str, survey_id: str) -> list[dict]:
    headers = {"X-API-TOKEN": sandbox_credentials()["QUALTRICS_API_TOKEN"]}
    root = f"{base}/qualtrics/API/v3/surveys/{survey_id}/export-responses"
    started = requests.post(root, json={"format": "json"}, headers=headers, timeout=TIMEOUT)
    started.raise_for_status()
    progress_id = started.json()["result"]["progressId"]
    while True:
        progress = requests.get(f"{root}/{progress_id}", headers=headers, timeout=TIMEOUT)
        result = progress.json()["result"]
        if result["status"] == "complete":
            break
        if result["status"] == "failed":
            raise RuntimeError(f"Qualtrics export {progress_id} failed")
    archive = requests.get(f"{root}/{result['fileId']}/file", headers=headers, timeout=TIMEOUT)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        return json.loads(bundle.read(bundle.namelist()[0]))["responses"]


def qualtrics_distributions(base: str, survey_id: str) -> list[dict]:
    headers = {"X-API-TOKEN": sandbox_credentials()["QUALTRICS_API_TOKEN"]}
    url: str | None = f"{base}/qualtrics/API/v3/distributions?surveyId={survey_id}"
    items: list[dict] = []
    while url:
        payload = requests.get(url, headers=headers, timeout=TIMEOUT).json()["result"]
        items.extend(payload["elements"])
        url = payload["nextPage"]
    return items


def delighted_responses(base: str, **params: Any) -> list[dict]:
    auth = (sandbox_credentials()["DELIGHTED_API_KEY"], "")
    items: list[dict] = []
    page = 1
    while True:
        response = requests.get(
            f"{base}/delighted/v1/survey_responses.json",
            params={"per_page": 100, "page": page, **params},
            auth=auth,
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        batch = response.json()
        if not batch:
            return items
        items.extend(batch)
        page += 1


def delighted_people(base: str) -> list[dict]:
    auth = (sandbox_credentials()["DELIGHTED_API_KEY"], "")
    url: str | None = f"{base}/delighted/v1/people.json?per_page=100"
    items: list[dict] = []
    while url:
        response = requests.get(url, auth=auth, timeout=TIMEOUT)
        response.raise_for_status()
        items.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return items


def amplitude_events(base: str, start: datetime, end: datetime) -> Iterator[dict]:
    """Events uploaded in [start, end), fetched a day at a time; 404 means an empty day."""
    creds = sandbox_credentials()
    auth = (creds["AMPLITUDE_API_KEY"], creds["AMPLITUDE_SECRET_KEY"])
    day = start
    while day < end:
        last_hour = min(day + timedelta(hours=23), end - timedelta(hours=1))
        response = requests.get(
            f"{base}/amplitude/api/2/export",
            params={"start": day.strftime("%Y%m%dT%H"), "end": last_hour.strftime("%Y%m%dT%H")},
            auth=auth,
            timeout=TIMEOUT,
        )
        day = last_hour + timedelta(hours=1)
        if response.status_code == 404:
            continue
        response.raise_for_status()
        with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
            for name in sorted(bundle.namelist()):
                for line in gzip.decompress(bundle.read(name)).splitlines():
                    yield json.loads(line)


def tour(base: str) -> Iterator[str]:
    """One line per endpoint: how many records it serves right now."""
    for sobject in SALESFORCE_OBJECTS:
        live = salesforce_records(base, sobject)
        every = salesforce_records(base, sobject, query_all=True)
        yield f"  salesforce {sobject:24} {len(live):>9,} live  {len(every) - len(live):>6,} deleted"
    for resource in ("tickets", "users"):
        items = zendesk_cursor_export(base, resource)
        yield f"  zendesk    {resource:24} {len(items):>9,}"
    events = {e["id"] for e in zendesk_time_export(base, "ticket_events")}
    yield f"  zendesk    {'ticket_events':24} {len(events):>9,}"
    for resource in ("organizations", "groups", "ticket_metrics", "satisfaction_ratings"):
        yield f"  zendesk    {resource:24} {len(zendesk_list(base, resource)):>9,}"
    for survey in qualtrics_surveys(base):
        responses = qualtrics_responses(base, survey["id"])
        sent = sum(d["stats"]["sent"] for d in qualtrics_distributions(base, survey["id"]))
        yield f"  qualtrics  {survey['name'][:24]:24} {len(responses):>9,} responses of {sent:,} sent"
    yield f"  delighted  {'survey_responses':24} {len(delighted_responses(base)):>9,}"
    yield f"  delighted  {'people':24} {len(delighted_people(base)):>9,}"
    status = requests.get(f"{base}/_sandbox/status", timeout=TIMEOUT).json()
    now = datetime.fromtimestamp(status["now_epoch"], UTC)
    recent = sum(1 for _ in amplitude_events(base, now - timedelta(days=7), now))
    yield f"  amplitude  {'events (last 7 days)':24} {recent:>9,}"
