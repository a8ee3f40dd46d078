"""tap-qualtrics against the sandbox: the singer-sdk suite plus export-flow behaviour."""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from cx360_sandbox import tour
from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.server.credentials import sandbox_credentials
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_qualtrics.tap import TapQualtrics

from tests.taps.suite_sandbox import start_suite_sandbox

API = "/qualtrics/API/v3"
FAST = {"export_poll_seconds": 0.01, "max_retry_seconds": 60}

# singer-sdk builds its suite at collection time, against a live URL: see suite_sandbox.
_SUITE_SANDBOX = start_suite_sandbox("qualtrics")

_BaseSuite = get_tap_test_class(
    TapQualtrics,
    config={"base_url": _SUITE_SANDBOX.url + API, **FAST},
    suite_config=SuiteConfig(max_records_limit=50),
)


class TestTapQualtricsSuite(_BaseSuite):  # type: ignore[misc, valid-type]
    """singer-sdk's built-in tap, stream and attribute tests (RECORD mode)."""

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


def run_tap(config: dict[str, Any], state: dict | None = None) -> tuple[dict, dict]:
    """Sync in-process; return (records by stream, final state)."""
    tap = TapQualtrics(config=config, state=state or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    records: dict[str, list[dict]] = defaultdict(list)
    final_state: dict = {}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            final_state = message["value"]
    return records, final_state


def config_for(sandbox: RunningSandbox) -> dict[str, Any]:
    return {"base_url": sandbox.url + API, **FAST}


def bookmarks(state: dict) -> dict[str, str]:
    partitions = state["bookmarks"]["survey_responses"]["partitions"]
    return {p["context"]["surveyId"]: p["replication_key_value"] for p in partitions}


# -- behaviour -------------------------------------------------------------------------------
def test_full_sync_matches_naive_pagers(sandbox: RunningSandbox) -> None:
    records, state = run_tap(config_for(sandbox))
    surveys = tour.qualtrics_surveys(sandbox.url)
    assert {r["id"] for r in records["surveys"]} == {s["id"] for s in surveys}
    expected_responses: dict[str, set[str]] = {}
    expected_distributions: set[tuple[str, str]] = set()
    for survey in surveys:
        expected_responses[survey["id"]] = {
            r["responseId"] for r in tour.qualtrics_responses(sandbox.url, survey["id"])
        }
        expected_distributions |= {
            (survey["id"], d["id"]) for d in tour.qualtrics_distributions(sandbox.url, survey["id"])
        }
    got: dict[str, set[str]] = defaultdict(set)
    for record in records["survey_responses"]:
        got[record["surveyId"]].add(record["responseId"])
        assert record["recordedDate"].endswith("Z")
    assert len(records["survey_responses"]) == sum(map(len, expected_responses.values()))
    assert {k: v for k, v in got.items()} == {k: v for k, v in expected_responses.items() if v}
    assert {(d["surveyId"], d["id"]) for d in records["distributions"]} == expected_distributions
    assert len(records["distributions"]) == len(expected_distributions)
    assert all(isinstance(d["stats"]["sent"], int) for d in records["distributions"])
    # interaction_at keeps its local offset verbatim (staging converts it)
    assert any(
        not r["values"]["interaction_at"].endswith(("Z", "+00:00"))
        for r in records["survey_responses"]
    )
    assert set(bookmarks(state)) == {s for s, ids in expected_responses.items() if ids}
    assert "progress_markers" not in json.dumps(state)


def test_incremental_reads_only_new_responses(sandbox: RunningSandbox, control) -> None:
    first, state = run_tap(config_for(sandbox))
    seen = {r["responseId"] for r in first["survey_responses"]}
    marks = bookmarks(state)
    control.advance(days=2)
    second, state2 = run_tap(config_for(sandbox), state)
    now_all = {
        r["responseId"]
        for s in tour.qualtrics_surveys(sandbox.url)
        for r in tour.qualtrics_responses(sandbox.url, s["id"])
    }
    new = now_all - seen
    got = {r["responseId"] for r in second["survey_responses"]}
    assert new, "advancing two days should reveal responses"
    assert new <= got
    # Only the responses recorded exactly at a survey's bookmark are read again (inclusive
    # startDate); every other old response is skipped.
    repeated = [r for r in second["survey_responses"] if r["responseId"] in seen]
    assert all(r["recordedDate"] == marks[r["surveyId"]] for r in repeated)
    assert len(got) == len(new) + len(repeated)
    assert all(bookmarks(state2)[s] >= v for s, v in marks.items())


def test_failed_export_is_restarted(sandbox: RunningSandbox, control) -> None:
    sandbox.server.state["qualtrics"]["fail_next"] = 1
    records, _ = run_tap(config_for(sandbox))
    clean = {
        r["responseId"]
        for s in tour.qualtrics_surveys(sandbox.url)
        for r in tour.qualtrics_responses(sandbox.url, s["id"])
    }
    assert {r["responseId"] for r in records["survey_responses"]} == clean
    starts = [e for e in control.requests_log() if e["method"] == "POST" and "export" in e["path"]]
    assert len(starts) == len(tour.qualtrics_surveys(sandbox.url)) + 1 + len(
        tour.qualtrics_surveys(sandbox.url)
    )  # tap: one per survey plus the retry; the tour above: one per survey


def test_export_failing_every_time_names_the_survey(sandbox: RunningSandbox) -> None:
    sandbox.server.state["qualtrics"]["fail_next"] = 10_000
    with pytest.raises(Exception, match=r"survey SV_\w+ failed 2 times"):
        run_tap({**config_for(sandbox), "export_max_attempts": 2})


def test_faults_give_identical_records(sandbox: RunningSandbox, control) -> None:
    clean, _ = run_tap(config_for(sandbox))
    control.faults(
        rate_429=0.05, rate_5xx=0.05, rate_drop=0.05, rate_truncate=0.05, seed=7,
        apis=["qualtrics"],
    )  # fmt: skip
    faulty, _ = run_tap(config_for(sandbox))
    counters = control.status()["counters"]
    assert counters["faults_429"] + counters["faults_5xx"] + counters["faults_drop"] > 0
    assert counters["faults_truncate"] > 0

    def canon(records: dict) -> dict[str, list[str]]:
        return {
            stream: sorted(json.dumps(r, sort_keys=True) for r in rows)
            for stream, rows in records.items()
        }

    assert canon(faulty) == canon(clean)


def test_missing_token_is_a_clear_error(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUALTRICS_API_TOKEN")
    with pytest.raises(Exception, match="QUALTRICS_API_TOKEN"):
        run_tap(config_for(sandbox))


def test_datacenter_fills_the_default_base_url() -> None:
    tap = TapQualtrics(config={"datacenter": "iad1"})
    assert tap.streams["surveys"].url_base == "https://iad1.qualtrics.com/API/v3"
