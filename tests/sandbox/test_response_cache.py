"""The sandbox's ResponseCache: replays computed answers of stateless APIs, exactly, and
forgets them whenever what an API answers may change (clock, corruption, drift)."""

from __future__ import annotations

import pytest
import requests
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox

from tests.conftest import SandboxControl

TICKETS = "/zendesk/api/v2/incremental/tickets/cursor.json"


def _tickets_page(sandbox: RunningSandbox) -> requests.Response:
    return requests.get(
        sandbox.url + TICKETS,
        params={"start_time": 0, "per_page": 50},
        headers=tour._zendesk_auth(),
        timeout=30,
    )


def test_replays_the_same_answer_and_counts_hits(sandbox: RunningSandbox) -> None:
    cache = sandbox.server.cache_responses({"zendesk"})
    first = _tickets_page(sandbox)
    second = _tickets_page(sandbox)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["Date"] == second.headers["Date"]
    assert cache.hits == 1
    assert cache.stored_bytes == len(first.content)


def test_credentials_are_part_of_the_key(sandbox: RunningSandbox) -> None:
    cache = sandbox.server.cache_responses({"zendesk"})
    assert _tickets_page(sandbox).status_code == 200
    wrong = requests.get(
        sandbox.url + TICKETS,
        params={"start_time": 0, "per_page": 50},
        auth=("someone@example.com/token", "wrong"),
        timeout=30,
    )
    assert wrong.status_code == 401
    assert cache.hits == 0


def test_clock_and_control_writes_empty_it(
    sandbox: RunningSandbox, control: SandboxControl
) -> None:
    cache = sandbox.server.cache_responses({"zendesk"})
    _tickets_page(sandbox)
    control.advance(days=30)
    assert cache.stored_bytes == 0
    _tickets_page(sandbox)
    assert cache.hits == 0  # computed again at the new clock, not replayed
    control.drift(zendesk={"tickets": {"add": {"cx360_drift_probe": "'probe'"}}})
    assert cache.stored_bytes == 0
    assert "cx360_drift_probe" in _tickets_page(sandbox).json()["tickets"][0]


def test_faults_still_hit_cached_answers(sandbox: RunningSandbox, control: SandboxControl) -> None:
    cache = sandbox.server.cache_responses({"zendesk"})
    assert _tickets_page(sandbox).status_code == 200
    sandbox.server.set_faults(rate_5xx=1.0, seed=1)
    assert _tickets_page(sandbox).status_code == 503
    sandbox.server.set_faults()
    assert _tickets_page(sandbox).status_code == 200
    assert cache.hits == 1
    del control


def test_stateful_apis_are_refused(sandbox: RunningSandbox) -> None:
    with pytest.raises(ValueError, match="salesforce"):
        sandbox.server.cache_responses({"salesforce"})
