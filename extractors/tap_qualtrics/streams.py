"""Qualtrics streams: surveys, their responses (asynchronous export) and distributions."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import requests
from cx360_singer import normalize_utc, response_json
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.types import Context, Record

from .client import QualtricsStream
from .export import ExportFileError, iter_export_file

SCHEMAS = resources.files(__package__) / "schemas"
DOWNLOAD_CHUNK_BYTES = 1 << 20
FIRST_POLL_SECONDS = 0.25
"""First pause while an export runs; pauses then double up to `export_poll_seconds`."""


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


class ExportFailedError(RuntimeError):
    """A survey's response export failed or timed out more often than allowed."""


class SurveysStream(QualtricsStream):
    """`GET /surveys`: every survey the token can see. Small, so full table."""

    name = "surveys"
    path = "/surveys"
    primary_keys = ("id",)
    replication_key = None
    schema = _schema("surveys")

    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"surveyId": record["id"]}


class SurveyResponsesStream(QualtricsStream):
    """One record per response, from the asynchronous export of each survey.

    Incremental per survey on `recordedDate` (state partitioned by `surveyId`): the export
    is started with `startDate` = the bookmark, which Qualtrics treats inclusively, so the
    responses recorded in the bookmark's own second are exported again (the loader's
    upsert makes that harmless) and none recorded later can be skipped.

    Not `is_sorted`: Qualtrics does not document the order of an export file. An export is
    one atomic unit anyway (the bookmark moves when its file has been read to the end), so
    an interrupted sync redoes at most that survey's export.
    """

    name = "survey_responses"
    path = "/surveys/{surveyId}/export-responses"
    primary_keys = ("responseId",)
    replication_key = "recordedDate"
    parent_stream_type = SurveysStream
    is_sorted = False
    schema = _schema("survey_responses")

    # -- the export state machine --------------------------------------------------------
    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One API call with the stream's retries, auth and error handling."""
        prepared = self.build_prepared_request(
            method=method, url=url, headers=self.http_headers, **kwargs
        )
        return self.request_decorator(self._request)(prepared, None)

    def _start_export(self, survey_id: str, start: datetime | None) -> str:
        body: dict[str, Any] = {"format": "json", "compress": True}
        if start is not None:
            body["startDate"] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        url = self.get_url({"surveyId": survey_id})
        response = self._call("POST", url, json=body)
        return str(response_json(response)["result"]["progressId"])

    def _wait_for_file(self, survey_id: str, progress_id: str) -> str | None:
        """Poll until the export completes (its fileId) or fails (None); bounded in time.

        The first poll comes after FIRST_POLL_SECONDS and each pause doubles up to
        `export_poll_seconds`: a small export is ready within a second (fixed 2 s pauses
        made a tiny extract spend most of its time asleep), a large one is still polled
        only every `export_poll_seconds`.
        """
        url = f"{self.get_url({'surveyId': survey_id})}/{progress_id}"
        longest = float(self.config.get("export_poll_seconds", 2.0))
        interval = min(FIRST_POLL_SECONDS, longest)
        deadline = time.monotonic() + float(self.config.get("export_timeout_seconds", 3600))
        while True:
            result = response_json(self._call("GET", url))["result"]
            status = result.get("status")
            if status == "complete":
                return str(result["fileId"])
            if status == "failed":
                return None
            if time.monotonic() + interval > deadline:
                raise ExportFailedError(
                    f"Qualtrics export {progress_id} of survey {survey_id} still "
                    f"{status!r} at {result.get('percentComplete')}% after "
                    f"{self.config.get('export_timeout_seconds', 3600)} s"
                )
            time.sleep(interval)
            interval = min(interval * 2, longest)

    def _download(self, survey_id: str, file_id: str, target: Path) -> None:
        """Stream the export file to disk; a short or corrupt download is retried."""
        url = f"{self.get_url({'surveyId': survey_id})}/{file_id}/file"

        def fetch(prepared: requests.PreparedRequest, context: Context | None) -> None:
            del context
            response = self.requests_session.send(
                self.authenticator(prepared), stream=True, timeout=self.timeout
            )
            with response:
                self.validate_response(response)
                with target.open("wb") as handle:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                        handle.write(chunk)
                expected = response.headers.get("Content-Length")
                if expected is not None and target.stat().st_size != int(expected):
                    raise RetriableAPIError(
                        f"export file of survey {survey_id} cut short "
                        f"({target.stat().st_size} of {expected} bytes)",
                        response,
                    )

        prepared = self.build_prepared_request(method="GET", url=url, headers=self.http_headers)
        self.request_decorator(fetch)(prepared, None)

    def _export_file(self, survey_id: str, start: datetime | None, target: Path) -> None:
        """Run export → poll → download, restarting a failed export a bounded number of times."""
        attempts = int(self.config.get("export_max_attempts", 3))
        for attempt in range(1, attempts + 1):
            progress_id = self._start_export(survey_id, start)
            file_id = self._wait_for_file(survey_id, progress_id)
            if file_id is not None:
                self._download(survey_id, file_id, target)
                return
            self.logger.warning(
                "Qualtrics export %s of survey %s failed (attempt %d of %d)",
                progress_id, survey_id, attempt, attempts,
            )  # fmt: skip
        raise ExportFailedError(
            f"Qualtrics response export of survey {survey_id} failed {attempts} times in a "
            "row; the survey's bookmark is unchanged, so the next run retries it"
        )

    # -- records -------------------------------------------------------------------------
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None, "survey_responses is a child of surveys"
        survey_id = str(context["surveyId"])
        start = self.get_starting_timestamp(context)
        with tempfile.TemporaryDirectory(prefix="tap-qualtrics-") as folder:
            target = Path(folder) / "export"
            self._export_file(survey_id, start, target)
            try:
                yield from self._records(survey_id, target)
            except ExportFileError as error:
                raise ExportFailedError(
                    f"Qualtrics export of survey {survey_id} is unreadable: {error}"
                ) from error

    @staticmethod
    def _records(survey_id: str, target: Path) -> Iterator[dict[str, Any]]:
        for response in iter_export_file(target):
            values = response.get("values") or {}
            yield {
                "responseId": response["responseId"],
                "surveyId": survey_id,
                "recordedDate": normalize_utc(values.get("recordedDate")),
                "values": values,
                "labels": response.get("labels"),
                "displayedFields": response.get("displayedFields"),
                "displayedValues": response.get("displayedValues"),
            }


class DistributionsStream(QualtricsStream):
    """`GET /distributions?surveyId=…`: sends per survey with their `stats`. Full table.

    Keyed on (`surveyId`, `id`): a distribution belongs to one survey, so the pair is as
    unique as `id` is on the real API, and it stays unique where ids collide across surveys
    (the sandbox derives ids from a survey-id slice that is equal for every survey).
    """

    name = "distributions"
    path = "/distributions"
    primary_keys = ("surveyId", "id")
    replication_key = None
    parent_stream_type = SurveysStream
    state_partitioning_keys = ()  # full table: no per-survey state worth keeping
    schema = _schema("distributions")

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {"surveyId": context["surveyId"]} if context else {}

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        if context:
            row["surveyId"] = context["surveyId"]
        return row
