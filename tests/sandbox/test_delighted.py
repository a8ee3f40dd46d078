"""Delighted's paging, filters and orders against a plain-Python reading of the world.

The server answers from ordered copies of the current rows (bisect + slice, see
cx360_sandbox.server.delighted); here every answer is recomputed from the world files by
`truth.latest_versions`, filtered, sorted and sliced in Python, for many combinations of
`page`, `per_page`, `since`/`until`, `updated_since`/`updated_until`, `order` and
`expand[]`, before and after the clock moves.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest
import requests
from cx360_sandbox.server import delighted
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from cx360_sandbox.store import WorldFiles

from . import truth

API = "/delighted/v1"
ORDERS = {
    "asc": ("created_at", False),
    "desc": ("created_at", True),
    "asc:updated_at": ("updated_at", False),
    "desc:updated_at": ("updated_at", True),
}
BOUNDS = (
    ("since", "created_at", 1),
    ("until", "created_at", -1),
    ("updated_since", "updated_at", 1),
    ("updated_until", "updated_at", -1),
)


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else truth._epoch(value)


def _get(sandbox: RunningSandbox, path: str, params: dict[str, Any]) -> requests.Response:
    auth = (sandbox_credentials()["DELIGHTED_API_KEY"], "")
    response = requests.get(f"{sandbox.url}{API}/{path}", params=params, auth=auth, timeout=30)
    response.raise_for_status()
    return response


def _expected_responses(
    world: WorldFiles, now: int, params: dict[str, Any], whole: bool = False
) -> list[tuple[str, int, int, Any]]:
    """(id, created_at, updated_at, person) of the page the API should answer (of every
    page, if `whole`)."""
    rows = truth.latest_versions(world, "dl_survey_responses", "id", now).values()
    people = truth.latest_versions(world, "dl_people", "id", now)
    kept = []
    for row in rows:
        times = {"created_at": _epoch(row["created_at"]), "updated_at": _epoch(row["updated_at"])}
        if all(
            params.get(arg) is None or (times[column] - params[arg]) * sign >= 0
            for arg, column, sign in BOUNDS
        ):
            kept.append((row, times))
    column, descending = ORDERS[params.get("order", "asc")]
    kept.sort(key=lambda pair: (pair[1][column], pair[0]["id"]), reverse=descending)
    per_page = min(params.get("per_page", 20), 100)
    start = (params.get("page", 1) - 1) * per_page
    if not whole:
        kept = kept[start : start + per_page]
    expanded = params.get("expand[]") == "person"
    page = []
    for row, times in kept:
        person = people.get(row["person_id"])
        shown = person["email"] if expanded and person else row["person_id"]
        page.append((row["id"], times["created_at"], times["updated_at"], shown))
    return page


def _answered(rows: list[dict]) -> list[tuple[str, int, int, Any]]:
    return [
        (
            r["id"],
            r["created_at"],
            r["updated_at"],
            r["person"]["email"] if isinstance(r["person"], dict) else r["person"],
        )
        for r in rows
    ]


def _random_params(rng: random.Random, instants: list[int]) -> dict[str, Any]:
    """Bounds are instants of the world half of the time (inclusive edges), else any."""
    params: dict[str, Any] = {
        "per_page": rng.choice([1, 3, 20, 100, 250]),
        "page": rng.choice([1, 1, 2, 3, 7, 1000]),
        "order": rng.choice(list(ORDERS)),
    }
    for arg, _, _ in BOUNDS:
        if rng.random() < 0.4:
            params[arg] = (
                rng.choice(instants)
                if rng.random() < 0.5
                else rng.randint(instants[0] - 1000, instants[-1] + 1000)
            )
    if rng.random() < 0.5:
        params["expand[]"] = "person"
    return params


@pytest.mark.parametrize("days_later", [0, 17])
def test_survey_responses_match_the_world(
    sandbox: RunningSandbox, control, tiny_world: WorldFiles, days_later: int
) -> None:
    if days_later:
        control.advance(days=days_later)
    now = control.status()["now_epoch"]
    rows = truth.latest_versions(tiny_world, "dl_survey_responses", "id", now).values()
    instants = sorted({_epoch(r[c]) for r in rows for c in ("created_at", "updated_at")})
    rng = random.Random(days_later)
    for _ in range(120):
        params = _random_params(rng, instants)
        answer = _get(sandbox, "survey_responses.json", params).json()
        assert _answered(answer) == _expected_responses(tiny_world, now, params), params


def test_whole_sync_by_page_number_in_every_order(
    sandbox: RunningSandbox, tiny_world: WorldFiles
) -> None:
    now = sandbox.server.now
    for order in ORDERS:
        seen = []
        page = 1
        while rows := _get(
            sandbox, "survey_responses.json", {"per_page": 100, "page": page, "order": order}
        ).json():
            seen += _answered(rows)
            page += 1
        assert seen == _expected_responses(tiny_world, now, {"order": order}, whole=True)


def test_people_follow_the_link_to_the_world(
    sandbox: RunningSandbox, control, tiny_world: WorldFiles
) -> None:
    control.advance(days=5)
    now = control.status()["now_epoch"]
    people = truth.latest_versions(tiny_world, "dl_people", "id", now)
    created = sorted(_epoch(p["created_at"]) for p in people.values())
    for since in (None, created[len(created) // 2]):
        params: dict[str, Any] = {"per_page": 7}
        if since is not None:
            params["since"] = since
        response = _get(sandbox, "people.json", params)
        got = [p["id"] for p in response.json()]
        while "next" in response.links:
            assert f"since={since}" in response.links["next"]["url"] or since is None
            response = requests.get(
                response.links["next"]["url"],
                auth=(sandbox_credentials()["DELIGHTED_API_KEY"], ""),
                timeout=30,
            )
            got += [p["id"] for p in response.json()]
        expected = sorted(
            person_id
            for person_id, person in people.items()
            if since is None or _epoch(person["created_at"]) >= since
        )
        assert got == expected
        assert len(response.json()) <= 7


def test_answers_follow_the_clock(sandbox: RunningSandbox, control) -> None:
    """The ordered copies are rebuilt when the clock moves: new rows appear."""
    params = {"per_page": 100, "order": "desc:updated_at"}
    before = _get(sandbox, "survey_responses.json", params).json()
    control.advance(days=20)
    after = _get(sandbox, "survey_responses.json", params).json()
    assert after[0]["updated_at"] > before[0]["updated_at"]
    assert sandbox.server.state[delighted._CACHE]["now"] == sandbox.server.now
