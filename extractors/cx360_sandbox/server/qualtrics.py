"""Qualtrics API v3 imitation: surveys, the asynchronous response export, distributions.

The export is a state machine as in the docs: POST `export-responses` → `progressId`; GET
the progress until `status == "complete"` (it advances per poll, and can be made to fail);
then GET `{fileId}/file` → a zip holding `<survey name>.json` (or raw JSON with
`compress: false`). Auth is the `X-API-TOKEN` header.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from .core import ApiError, Request, Response, SandboxServer

PREFIX = "/qualtrics/API/v3"
PROGRESS_STEP = 50.0  # percent per poll: two polls to complete


def _meta(status: str, error: dict | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"httpStatus": status, "requestId": "sandbox-request"}
    if error:
        meta["error"] = error
    return meta


def _error(status: int, label: str, message: str, code: str) -> ApiError:
    body = {"meta": _meta(f"{status} - {label}", {"errorMessage": message, "errorCode": code})}
    return ApiError(Response.json(body, status))


def _authorise(request: Request) -> None:
    token = request.server.state["credentials"]["QUALTRICS_API_TOKEN"]
    if request.headers.get("x-api-token") != token:
        raise _error(401, "Unauthorized", "Invalid or missing API token.", "AUTH_1")


def _ok(result: Any) -> Response:
    return Response.json({"result": result, "meta": _meta("200 - OK")})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_instant(raw: Any, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _error(
            400, "Bad Request", f"{field} must be ISO-8601, got {raw!r}", "QVAL_1"
        ) from None
    if parsed.tzinfo is None:
        raise _error(400, "Bad Request", f"{field} must carry a time zone", "QVAL_1")
    return parsed.astimezone(UTC).replace(tzinfo=None)


def surveys(request: Request) -> Response:
    _authorise(request)
    server = request.server
    offset = int(request.arg("offset", "0") or 0)
    current = server.current("qx_surveys", "id")
    rows = (
        server.cursor()
        .execute(
            f"SELECT id, name, ownerId, lastModified, creationDate, isActive FROM {current} "
            "ORDER BY id LIMIT 101 OFFSET ?",
            [offset],
        )
        .fetchall()
    )
    elements = [
        {
            "id": r[0], "name": r[1], "ownerId": r[2], "lastModified": _iso(r[3]),
            "creationDate": _iso(r[4]), "isActive": r[5],
        }
        for r in rows[:100]
    ]  # fmt: skip
    next_page = None
    if len(rows) > 100:
        next_page = f"{server.base_url}{PREFIX}/surveys?offset={offset + 100}"
    return _ok({"elements": elements, "nextPage": next_page})


def _survey_row(server: SandboxServer, survey_id: str) -> tuple:
    current = server.current("qx_surveys", "id")
    row = (
        server.cursor()
        .execute(f"SELECT id, name, scale_min, scale_max FROM {current} WHERE id = ?", [survey_id])
        .fetchone()
    )
    if row is None:
        raise _error(404, "Not Found", f"Survey {survey_id} not found", "QVAL_404")
    return row


def start_export(request: Request) -> Response:
    _authorise(request)
    server = request.server
    survey_id = request.match["survey"]
    survey = _survey_row(server, survey_id)
    try:
        body = request.json()
    except ValueError:
        raise _error(400, "Bad Request", "body must be JSON", "QVAL_1") from None
    if body.get("format") != "json":
        raise _error(400, "Bad Request", "the sandbox exports format 'json' only", "QVAL_1")
    now = datetime.fromtimestamp(server.now, UTC).replace(tzinfo=None)
    start = _parse_instant(body["startDate"], "startDate") if "startDate" in body else None
    end = _parse_instant(body["endDate"], "endDate") if "endDate" in body else now
    end = min(end, now)
    state = server.state["qualtrics"]
    with server.lock:
        number = next(state["counter"])
        progress_id = f"ES_sandbox{number:08d}"
        state["exports"][progress_id] = {
            "survey_id": survey_id,
            "survey_name": survey[1],
            "start": start,
            "end": end,
            "compress": bool(body.get("compress", True)),
            "percent": 0.0,
            "file_id": f"{progress_id}-file",
            "fails": state["fail_next"] > 0,
        }
        if state["fail_next"] > 0:
            state["fail_next"] -= 1
    return _ok({"progressId": progress_id, "percentComplete": 0.0, "status": "inProgress"})


def export_progress(request: Request) -> Response:
    _authorise(request)
    server = request.server
    state = server.state["qualtrics"]
    with server.lock:
        export = state["exports"].get(request.match["progress"])
        if export is None or export["survey_id"] != request.match["survey"]:
            raise _error(404, "Not Found", "export not found", "QVAL_404")
        export["percent"] = min(100.0, export["percent"] + PROGRESS_STEP)
        percent = export["percent"]
    if export["fails"] and percent >= 100.0:
        return _ok({"percentComplete": percent, "status": "failed", "fileId": None})
    if percent < 100.0:
        return _ok({"percentComplete": percent, "status": "inProgress", "fileId": None})
    return _ok({"percentComplete": 100.0, "status": "complete", "fileId": export["file_id"]})


def _responses(server: SandboxServer, export: dict[str, Any]) -> list[dict]:
    where, params = ["surveyId = ?", "recordedDate <= ?"], [export["survey_id"], export["end"]]
    if export["start"] is not None:
        where.append("recordedDate >= ?")
        params.append(export["start"])
    current = server.current("qx_responses", "responseId")
    rows = (
        server.cursor()
        .execute(
            f"""
        SELECT responseId, startDate, endDate, duration, recordedDate, score, comment,
               RecipientEmail, RecipientFirstName, RecipientLastName, ExternalReference,
               touchpoint, ticket_id, opportunity_id, interaction_at_local, userLanguage,
               distributionChannel
        FROM {current} WHERE {" AND ".join(where)} ORDER BY recordedDate, responseId
        """,
            params,
        )
        .fetchall()
    )
    responses = []
    for r in rows:
        values = {
            "startDate": _iso(r[1]), "endDate": _iso(r[2]), "status": 0, "ipAddress": None,
            "progress": 100, "duration": r[3], "finished": 1, "recordedDate": _iso(r[4]),
            "_recordId": r[0], "locationLatitude": None, "locationLongitude": None,
            "distributionChannel": r[16], "userLanguage": r[15], "QID1": r[5],
            "recipientEmail": r[7], "recipientFirstName": r[8], "recipientLastName": r[9],
            "externalDataReference": r[10], "touchpoint": r[11], "ticket_id": r[12],
            "opportunity_id": r[13], "interaction_at": r[14],
        }  # fmt: skip
        if r[6] is not None:
            values["QID2_TEXT"] = r[6]
        responses.append(
            {
                "responseId": r[0],
                "values": values,
                "labels": {"status": "IP Address", "finished": "True"},
                "displayedFields": ["QID1", "QID2_TEXT"],
                "displayedValues": {},
            }
        )
    return responses


def export_file(request: Request) -> Response:
    _authorise(request)
    server = request.server
    state = server.state["qualtrics"]
    file_id = request.match["file"]
    export = next((e for e in state["exports"].values() if e["file_id"] == file_id), None)
    if export is None or export["percent"] < 100.0 or export["fails"]:
        raise _error(404, "Not Found", "file not found or export not complete", "QVAL_404")
    payload = json.dumps({"responses": _responses(server, export)}).encode()
    if not export["compress"]:
        return Response(200, payload)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{export['survey_name']}.json", payload)
    return Response(200, buffer.getvalue(), content_type="application/zip")


def distributions(request: Request) -> Response:
    _authorise(request)
    server = request.server
    survey_id = request.arg("surveyId")
    if not survey_id:
        raise _error(400, "Bad Request", "surveyId is required", "QVAL_1")
    _survey_row(server, survey_id)
    offset = int(request.arg("skipToken", "0") or 0)
    now = datetime.fromtimestamp(server.now, UTC).replace(tzinfo=None)
    rows = (
        server.cursor()
        .execute(
            """
        SELECT date_trunc('month', sent_at) AS send_month,
               count(*) AS sent,
               count(*) FILTER (WHERE responded) AS finished
        FROM qx_invitations
        WHERE surveyId = ? AND sent_at <= ?
        GROUP BY 1 ORDER BY 1 LIMIT 101 OFFSET ?
        """,
            [survey_id, now, offset],
        )
        .fetchall()
    )
    elements = []
    for send_month, sent, finished in rows[:100]:
        month_key = send_month.strftime("%Y%m")
        elements.append(
            {
                "id": f"EMD_{survey_id[-7:]}{month_key}",
                "parentDistributionId": None,
                "ownerId": "UR_cx360owner",
                "organizationId": "cx360sandbox",
                "requestStatus": "Done",
                "requestType": "Invite",
                "sendDate": _iso(send_month),
                "createdDate": _iso(send_month),
                "modifiedDate": _iso(send_month),
                "headers": {"fromEmail": "surveys@lumenapp.io", "subject": "Tell us how we did"},
                "recipients": {"mailingListId": "CG_sandbox", "contactId": None},
                "surveyLink": {"surveyId": survey_id, "linkType": "Individual"},
                "stats": {
                    "sent": sent,
                    "failed": 0,
                    "started": finished,
                    "bounced": 0,
                    "opened": finished,
                    "skipped": 0,
                    "finished": finished,
                    "complaints": 0,
                    "blocked": 0,
                },
            }
        )
    next_page = None
    if len(rows) > 100:
        next_page = (
            f"{server.base_url}{PREFIX}/distributions?surveyId={survey_id}&skipToken={offset + 100}"
        )
    return _ok({"elements": elements, "nextPage": next_page})


def register(server: SandboxServer) -> None:
    server.state["qualtrics"] = {"exports": {}, "counter": itertools.count(1), "fail_next": 0}
    survey = r"/surveys/(?P<survey>SV_\w+)"
    server.route("GET", PREFIX + r"/surveys", surveys, "qualtrics")
    server.route("POST", PREFIX + survey + r"/export-responses", start_export, "qualtrics")
    server.route(
        "GET",
        PREFIX + survey + r"/export-responses/(?P<progress>ES_\w+)",
        export_progress,
        "qualtrics",
    )
    server.route(
        "GET",
        PREFIX + survey + r"/export-responses/(?P<file>[\w-]+)/file",
        export_file,
        "qualtrics",
    )
    server.route("GET", PREFIX + r"/distributions", distributions, "qualtrics")
