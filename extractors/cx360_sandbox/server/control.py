"""`/_sandbox/*`: the control API tests and the CLI use (no auth, no faults)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime

from .core import ApiError, FaultConfig, Request, Response, SandboxServer

_HOUR = 3600


def _bad(message: str) -> ApiError:
    return ApiError(Response.json({"error": message}, 400))


def status(request: Request) -> Response:
    return Response.json(request.server.status())


def clock(request: Request) -> Response:
    server = request.server
    try:
        payload = request.json()
    except ValueError as error:
        raise _bad(f"body is not JSON: {error}") from None
    if "now" in payload:
        try:
            target = int(datetime.fromisoformat(payload["now"]).timestamp())
        except (TypeError, ValueError):
            raise _bad(f"'now' must be an ISO-8601 instant, got {payload['now']!r}") from None
    elif "advance_hours" in payload or "advance_days" in payload:
        hours = float(payload.get("advance_hours", 0)) + 24 * float(payload.get("advance_days", 0))
        if hours < 0:
            raise _bad("the clock only moves forward")
        target = server.now + int(hours * _HOUR)
    else:
        raise _bad("give 'now', 'advance_hours' or 'advance_days'")
    if target < server.now:
        raise _bad("the clock only moves forward")
    try:
        server.set_now(target)
    except ValueError as error:
        raise _bad(str(error)) from None
    return Response.json(server.status())


def faults(request: Request) -> Response:
    allowed = {f.name for f in fields(FaultConfig)}
    payload = request.json()
    unknown = set(payload) - allowed
    if unknown:
        raise _bad(f"unknown fault settings {sorted(unknown)}; allowed: {sorted(allowed)}")
    return Response.json(asdict(request.server.set_faults(**payload)))


def rate_limits(request: Request) -> Response:
    payload = request.json()
    limits: dict[str, tuple[int, float]] = {}
    for api, value in payload.items():
        if not (isinstance(value, list) and len(value) == 2):
            raise _bad(f"rate limit for {api!r} must be [requests, window_seconds]")
        limits[api] = (int(value[0]), float(value[1]))
    request.server.rate_limits = limits
    return Response.json({k: list(v) for k, v in limits.items()})


def requests_log(request: Request) -> Response:
    return Response.json(request.server.request_log)


def clear_requests(request: Request) -> Response:
    with request.server.lock:
        request.server.request_log.clear()
    return Response.json({"cleared": True})


def register(server: SandboxServer) -> None:
    from . import corruption, drift

    server.route("GET", r"/_sandbox/status", status, "control")
    server.route("POST", r"/_sandbox/clock", clock, "control")
    server.route("POST", r"/_sandbox/faults", faults, "control")
    server.route("POST", r"/_sandbox/rate-limits", rate_limits, "control")
    server.route("GET", r"/_sandbox/requests", requests_log, "control")
    server.route("DELETE", r"/_sandbox/requests", clear_requests, "control")
    corruption.register(server)  # /_sandbox/corruption: malformed records (bad-records drill)
    drift.register(server)  # /_sandbox/drift: fields added, dropped, widened between runs
