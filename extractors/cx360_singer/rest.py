"""REST behaviour shared by every cx360 tap: bounded retries that honour ``Retry-After``,
one auth refresh on 401, JSON body validation, and error texts without secrets.

Why not singer-sdk's defaults: its ``request_decorator`` (``backoff.expo``, 5 tries,
random jitter) ignores ``Retry-After`` and gives up after ~30 s, less than Zendesk's 60 s
rate-limit window; a truncated JSON body is only noticed in ``parse_response``, outside the
retry; 401 is just fatal; and its error text includes the whole response body and header
names. Here:

* Retried: HTTP 429 and 5xx (plus ``extra_retry_statuses``), connection errors/resets, read
  timeouts, truncated transfers, and 2xx bodies that are not valid JSON.
* Wait: ``Retry-After`` (seconds or HTTP-date) when the server sends it, plus a little
  jitter (never less than asked); otherwise exponential backoff 0.5 s·2^n capped at 60 s with
  "equal jitter" (50-100 % of the step).
* Bound: the *total* time since the first attempt never exceeds ``max_retry_seconds``
  (config, default 300). When the next wait would cross it we give up at once if the server
  asked for that wait (``Retry-After``), else shorten the wait to the remaining budget for
  one last try. Giving up raises :class:`RetryBudgetExceededError` naming method, path and
  the last status/error.
* 401: :meth:`RetryingStream.refresh_auth` is called once per request (Salesforce refreshes
  its OAuth token on ``INVALID_SESSION_ID``); if it returns False, or the retried request
  is 401 again, :class:`AuthenticationError` is raised.
* Secrets: messages name only the URL *path*; any exception text is passed through
  :func:`cx360_singer.redact.redact`.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Generator, Iterable
from decimal import Decimal
from http import HTTPStatus
from typing import Any, TypeVar

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath

from cx360_singer.redact import endpoint, install_log_redaction, redact
from cx360_singer.timeutil import parse_retry_after
from cx360_singer.transport import mount_whole_body_adapter

DEFAULT_MAX_RETRY_SECONDS = 300.0
DEFAULT_REQUEST_TIMEOUT = 120
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 60.0

RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
_JSON_ATTR = "_cx360_json"
T = TypeVar("T")


class AuthExpiredError(FatalAPIError):
    """HTTP 401; carries the response so ``refresh_auth`` can inspect it."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(message)
        self.response = response


class AuthenticationError(FatalAPIError):
    """Credentials rejected and no (successful) refresh: fix the credentials."""


class RetryBudgetExceededError(FatalAPIError):
    """Transient failures outlasted ``max_retry_seconds``."""

    def __init__(
        self, message: str, *, target: str, status: int | None, attempts: int, elapsed: float
    ) -> None:
        super().__init__(message)
        self.target = target
        self.status = status
        self.attempts = attempts
        self.elapsed = elapsed


def response_json(response: requests.Response) -> Any:
    """The response body parsed once (floats as Decimal, as singer-sdk does); cached."""
    cached = getattr(response, _JSON_ATTR, _MISSING)
    if cached is _MISSING:
        cached = json.loads(response.content, parse_float=Decimal)
        setattr(response, _JSON_ATTR, cached)
    return cached


def describe_error(error: BaseException) -> str:
    """Short, secret-free description of a request failure."""
    response = getattr(error, "response", None)
    if isinstance(response, requests.Response) and isinstance(error, RetriableAPIError):
        text = str(error)
        return redact(text) if text else f"HTTP {response.status_code} {response.reason}"
    return f"{type(error).__name__}: {redact(str(error))[:300]}"


def status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return response.status_code if isinstance(response, requests.Response) else None


def retry_after_of(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    if not isinstance(response, requests.Response):
        return None
    return parse_retry_after(response.headers.get("Retry-After"))


def default_retry_wait(
    error: BaseException,
    attempt: int,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Seconds before retry number ``attempt`` (1-based); see the module docstring."""
    retry_after = retry_after_of(error)
    if retry_after is not None:
        return retry_after + random.uniform(0, min(1.0, 0.1 * retry_after))
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def wait_generator(
    wait: Callable[[BaseException, int], float] = default_retry_wait,
) -> Generator[float, BaseException, None]:
    """singer-sdk/backoff wait-generator protocol: send the exception, receive seconds."""
    attempt = 0
    error = yield  # type: ignore[misc]
    while True:
        attempt += 1
        error = yield wait(error, attempt)


def run_with_retries(
    call: Callable[[], T],
    *,
    target: str,
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
    waits: Generator[float, BaseException, None] | None = None,
    refresh_auth: Callable[[requests.Response], bool] | None = None,
    auth_hint: str = "",
    max_tries: int | None = None,
    retriable: tuple[type[BaseException], ...] = RETRIABLE_EXCEPTIONS,
    on_retry: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``call()`` until it succeeds, retrying transient errors within the budget.

    ``target`` is what errors name, e.g. ``"GET /api/v2/tickets.json"`` (no query string).
    ``call`` must raise :class:`AuthExpiredError` for 401 and a ``RETRIABLE_EXCEPTIONS``
    member for transient failures (``validate_status`` does both for a response).
    """
    waits = waits or wait_generator()
    next(waits)
    started = clock()
    attempts = 0
    refreshed = False
    while True:
        attempts += 1
        try:
            return call()
        except AuthExpiredError as error:
            if refreshed or refresh_auth is None or not refresh_auth(error.response):
                why = "still rejected after refreshing" if refreshed else "rejected"
                raise AuthenticationError(
                    f"{target}: HTTP 401 Unauthorized, credentials {why}"
                    + (f"; {auth_hint}" if auth_hint else "")
                ) from None
            refreshed = True
            attempts -= 1  # the refresh round trip is not a failed attempt
            continue
        except retriable as error:
            elapsed = clock() - started
            wait = float(waits.send(error))
            remaining = max_retry_seconds - elapsed
            retry_after = retry_after_of(error)
            asked = retry_after is not None
            out_of_tries = max_tries is not None and attempts >= max_tries
            if out_of_tries or remaining <= 0 or (asked and wait > remaining):
                status = status_of(error)
                # Name the server's Retry-After, not the jittered wait derived from it.
                detail = (
                    f"Retry-After {retry_after:.0f}s exceeds the remaining "
                    f"{max(remaining, 0):.0f}s; "
                    if asked and wait > remaining
                    else ""
                )
                raise RetryBudgetExceededError(
                    f"{target}: giving up after {attempts} attempt(s) in {elapsed:.1f}s "
                    f"(max_retry_seconds={max_retry_seconds:g}); {detail}"
                    f"last error: {describe_error(error)}",
                    target=target,
                    status=status,
                    attempts=attempts,
                    elapsed=elapsed,
                ) from None
            wait = min(wait, remaining)
            if on_retry is not None:
                on_retry(
                    {
                        "target": target,
                        "tries": attempts,
                        "wait": wait,
                        "elapsed": elapsed,
                        "exception": error,
                        "status": status_of(error),
                        "max_retry_seconds": max_retry_seconds,
                    }
                )
            sleep(wait)


def validate_status(
    response: requests.Response,
    *,
    extra_retry_statuses: Iterable[int] = (HTTPStatus.TOO_MANY_REQUESTS,),
    json_body: bool = True,
) -> None:
    """Raise the error class that ``run_with_retries`` acts on for a bad response.

    401 → AuthExpiredError; 429/5xx/extra → RetriableAPIError; other 4xx → FatalAPIError;
    a 2xx JSON body (by Content-Type, or no Content-Type) that does not parse →
    RetriableAPIError (a truncated transfer). The parsed body is cached for
    :func:`response_json`.
    """
    status = response.status_code
    what = f"{response.request.method if response.request else ''} {endpoint(response.url)}"
    what = what.strip()
    if status == HTTPStatus.UNAUTHORIZED:
        raise AuthExpiredError(f"{what}: HTTP 401 Unauthorized", response)
    if status in set(extra_retry_statuses) or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise RetriableAPIError(error_message(response), response)
    if status >= HTTPStatus.BAD_REQUEST:
        raise FatalAPIError(error_message(response))
    content_type = response.headers.get("Content-Type", "application/json")
    if json_body and response.content and "json" in content_type.lower():
        try:
            response_json(response)
        except ValueError:
            raise RetriableAPIError(
                f"{what}: HTTP {status} with an invalid or truncated JSON body "
                f"({len(response.content)} bytes)",
                response,
            ) from None


def error_message(response: requests.Response) -> str:
    """``GET /path: HTTP 503 Service Unavailable: <first 300 chars of body, redacted>``."""
    method = response.request.method if response.request else ""
    excerpt = ""
    if response.content:
        excerpt = redact(response.text[:300].replace("\n", " "))
    head = f"{method} {endpoint(response.url)}".strip()
    tail = f": {excerpt}" if excerpt else ""
    return f"{head}: HTTP {response.status_code} {response.reason}{tail}"


def send_with_retries(
    session: requests.Session,
    request: requests.Request | requests.PreparedRequest,
    *,
    timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
    json_body: bool = True,
    refresh_auth: Callable[[requests.Response], bool] | None = None,
    logger: logging.Logger | None = None,
) -> requests.Response:
    """The same retry policy for one-off calls outside a stream (token fetch, export poll)."""
    prepared = (
        session.prepare_request(request) if isinstance(request, requests.Request) else (request)
    )
    target = f"{prepared.method} {endpoint(prepared.url)}"
    log = logger or logging.getLogger("cx360_singer")

    def call() -> requests.Response:
        response = session.send(prepared, timeout=timeout)
        validate_status(response, json_body=json_body)
        return response

    return run_with_retries(
        call,
        target=target,
        max_retry_seconds=max_retry_seconds,
        refresh_auth=refresh_auth,
        on_retry=functools.partial(_log_retry, log),
    )


def _log_retry(logger: logging.Logger, details: dict[str, Any]) -> None:
    logger.warning(
        "%s: %s; retry %d in %.1fs (%.0fs of %gs retry budget used)",
        details["target"],
        describe_error(details["exception"]),
        details["tries"],
        details["wait"],
        details["elapsed"],
        details["max_retry_seconds"],
    )


class RetryingStream:
    """Mixin for singer-sdk REST streams; put it *before* ``RESTStream`` in the bases.

    Config keys read: ``max_retry_seconds`` (default 300), ``request_timeout`` (default
    120 s per request). Override :meth:`refresh_auth` to recover from 401; ``retry_wait``
    (or ``backoff_base_seconds``/``backoff_cap_seconds``) to change waits. Set
    ``json_responses = False`` for non-JSON endpoints and ``auth_error_hint`` to tell
    operators which variables to check.
    """

    json_responses: bool = True
    auth_error_hint: str = ""
    backoff_base_seconds: float = BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = BACKOFF_CAP_SECONDS
    extra_retry_statuses: Iterable[int] = (HTTPStatus.TOO_MANY_REQUESTS,)

    # These come from singer_sdk.RESTStream at runtime.
    config: Any
    logger: logging.Logger
    records_jsonpath: str

    @property
    def max_retry_seconds(self) -> float:
        return float(self.config.get("max_retry_seconds", DEFAULT_MAX_RETRY_SECONDS))

    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", DEFAULT_REQUEST_TIMEOUT))

    def refresh_auth(self, response: requests.Response) -> bool:
        """Refresh credentials after a 401; return True to retry the request once.

        Default: no refresh, so a 401 is a fatal :class:`AuthenticationError`. After a
        True, the request is re-sent with :meth:`reauthenticate_request` applied and
        through ``self.authenticator`` again, so update whichever of the two carries the
        token (e.g. Salesforce: ``self.authenticator.update_access_token()``).
        """
        return False

    def reauthenticate_request(self, prepared_request: requests.PreparedRequest) -> None:
        """Re-apply ``http_headers`` (where a token may live) after a refresh."""
        prepared_request.headers.update(self.http_headers)  # type: ignore[attr-defined]

    def retry_wait(self, error: BaseException, attempt: int) -> float:
        return default_retry_wait(
            error, attempt, base=self.backoff_base_seconds, cap=self.backoff_cap_seconds
        )

    def backoff_wait_generator(self) -> Generator[float, BaseException, None]:
        return wait_generator(self.retry_wait)

    def backoff_max_tries(self) -> int:
        """Tries are bounded by time (``max_retry_seconds``), not count."""
        return 1_000_000

    def backoff_handler(self, details: dict[str, Any]) -> None:
        _log_retry(self.logger, details)

    def request_decorator(self, func: Callable[..., T]) -> Callable[..., T]:
        """Wrap ``_request(prepared_request, context)`` with the cx360 retry policy."""

        @functools.wraps(func)
        def call(prepared_request: requests.PreparedRequest, context: Any) -> T:
            def refresh(response: requests.Response) -> bool:
                if not self.refresh_auth(response):
                    return False
                self.reauthenticate_request(prepared_request)
                return True

            return run_with_retries(
                lambda: func(prepared_request, context),
                target=f"{prepared_request.method} {endpoint(prepared_request.url)}",
                max_retry_seconds=self.max_retry_seconds,
                waits=self.backoff_wait_generator(),
                refresh_auth=refresh,
                auth_hint=self.auth_error_hint,
                max_tries=self.backoff_max_tries(),
                on_retry=self.backoff_handler,
            )

        return call

    def validate_response(self, response: requests.Response) -> None:
        validate_status(
            response,
            extra_retry_statuses=self.extra_retry_statuses,
            json_body=self.json_responses,
        )

    def response_error_message(self, response: requests.Response) -> str:
        return error_message(response)

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from extract_jsonpath(self.records_jsonpath, input=response_json(response))


class CX360RESTStream(RetryingStream, RESTStream[Any]):
    """singer-sdk ``RESTStream`` with the cx360 retry/auth/JSON/redaction behaviour."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        install_log_redaction()
        super().__init__(*args, **kwargs)
        mount_whole_body_adapter(self.requests_session)


_MISSING = object()
