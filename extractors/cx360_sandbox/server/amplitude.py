"""Amplitude Export API imitation: `GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`.

Answers a ZIP of gzipped JSON-lines files, one per hour of `server_upload_time`
(`<project>/<project>_<YYYY-MM-DD>_<H>#0.json.gz`), 404 when the range holds no data, 400 for
a malformed or over-long range. Events become exportable two hours after upload, as on the
real service. Auth is HTTP Basic `api_key:secret_key`.
"""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from .core import ApiError, Request, Response

PREFIX = "/amplitude/api/2"
PROJECT_ID = 187520
AVAILABILITY_DELAY_SECONDS = 2 * 3600
MAX_RANGE_HOURS = 365 * 24

_EVENT_JSON = f"""json_object(
    '$insert_id', md5('evt-' || event_id), 'amplitude_id', 9000000000 + event_id,
    'app', {PROJECT_ID}, 'uuid', md5('uuid-' || event_id), 'event_id', event_id,
    'event_type', event_type,
    'event_time', strftime(event_time, '%Y-%m-%d %H:%M:%S.%f'),
    'client_event_time', strftime(event_time, '%Y-%m-%d %H:%M:%S.%f'),
    'client_upload_time', strftime(server_upload_time, '%Y-%m-%d %H:%M:%S.%f'),
    'server_received_time', strftime(server_upload_time, '%Y-%m-%d %H:%M:%S.%f'),
    'server_upload_time', strftime(server_upload_time, '%Y-%m-%d %H:%M:%S.%f'),
    'processed_time', strftime(server_upload_time, '%Y-%m-%d %H:%M:%S.%f'),
    'user_id', user_id, 'device_id', md5('device-' || user_id), 'session_id', session_id,
    'event_properties', json_object(),
    'user_properties', json_object('email', email, 'role', role),
    'groups', json_object('workspace', workspace_id),
    'group_properties', json_object(), 'data', json_object(),
    'platform', 'Web', 'os_name', 'Chrome', 'language', 'English',
    'library', 'amplitude-ts/2.4.0', 'ip_address', NULL, 'paying', NULL
)"""


_COMPRESSORS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="amplitude-gzip")


def _gzip_member(lines: str) -> bytes:
    return gzip.compress((lines + "\n").encode(), compresslevel=1, mtime=0)


def _error(status: int, message: str) -> ApiError:
    return ApiError(Response(status, message.encode(), content_type="text/plain"))


def _authorise(request: Request) -> None:
    creds = request.server.state["credentials"]
    expected = f"{creds['AMPLITUDE_API_KEY']}:{creds['AMPLITUDE_SECRET_KEY']}"
    header = request.headers.get("authorization", "")
    try:
        supplied = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ""
    except ValueError:
        supplied = ""
    if supplied != expected:
        raise _error(401, "Invalid API key or secret key")


def _hour(raw: str | None, name: str) -> datetime:
    try:
        return datetime.strptime(raw or "", "%Y%m%dT%H").replace(tzinfo=UTC)
    except ValueError:
        raise _error(400, f"{name} must look like YYYYMMDDTHH, got {raw!r}") from None


def export(request: Request) -> Response:
    _authorise(request)
    server = request.server
    start = _hour(request.arg("start"), "start")
    end = _hour(request.arg("end"), "end")
    if end < start:
        raise _error(400, "end must not be before start")
    hours = int((end - start).total_seconds() // 3600) + 1
    if hours > MAX_RANGE_HOURS:
        raise _error(400, "the time range must not exceed 365 days")
    window_start = int(start.timestamp())
    window_end = window_start + hours * 3600
    visible_until = server.now - AVAILABILITY_DELAY_SECONDS
    # One row per hour, its JSON lines joined by DuckDB: Python touches a string per hour,
    # not per event.
    per_hour = (
        server.cursor()
        .execute(
            f"""
        SELECT hour, string_agg(line, chr(10) ORDER BY rn)
        FROM (
            SELECT epoch(date_trunc('hour', server_upload_time))::BIGINT AS hour,
                   ({_EVENT_JSON})::VARCHAR AS line,
                   -- sorting the keys alone, then the lines by position, is about twice
                   -- as fast as sorting the lines by the keys inside the aggregate
                   row_number() OVER (ORDER BY server_upload_time, event_id) AS rn
            FROM amp_events
            WHERE server_upload_time >= make_timestamp(?::BIGINT * 1000000)
              AND server_upload_time < make_timestamp(?::BIGINT * 1000000)
              AND server_upload_time <= make_timestamp(?::BIGINT * 1000000)
        )
        GROUP BY hour
        ORDER BY hour
        """,
            [window_start, window_end, visible_until],
        )
        .fetchall()
    )
    if not per_hour:
        raise _error(404, "No data available for the requested time range")
    # The hourly members are compressed in parallel (zlib releases the GIL): a day's
    # export is otherwise one core's worth of gzip while the client waits.
    members = _COMPRESSORS.map(_gzip_member, [lines for _, lines in per_hour])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for (hour, _), member in zip(per_hour, members, strict=True):
            stamp = datetime.fromtimestamp(hour, UTC)
            name = f"{PROJECT_ID}/{PROJECT_ID}_{stamp:%Y-%m-%d}_{stamp.hour}#0.json.gz"
            archive.writestr(name, member)
    return Response(200, buffer.getvalue(), content_type="application/zip")


def register(server) -> None:
    server.route("GET", PREFIX + r"/export", export, "amplitude")
