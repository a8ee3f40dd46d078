"""Keep secrets out of logs and error messages.

Query strings often carry tokens (``?access_token=``, ``?api_key=``), request headers carry
``Authorization``, and exception texts from requests/urllib3 embed the full URL. Everything
a cx360 tap logs or raises about a request goes through :func:`redact` or
:func:`endpoint`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

_URL_QUERY = re.compile(r"(?P<path>(?:https?://|/)[^\s'\"?#<>]*)\?[^\s'\"<>)]*")
_SECRET_KV = re.compile(
    r"(?i)(?P<key>\"?(?:access_token|refresh_token|id_token|token|api[_-]?key|apikey|"
    r"client_secret|secret|password|passwd|session_?id|sig|signature)\"?\s*[:=]\s*\"?)"
    r"(?P<value>[^\"&\s,;}]+)"
)
_AUTH_HEADER = re.compile(
    r"(?i)(?P<key>\b(?:authorization|x-api-token|x-api-key|api-token|cookie)\b\"?'?\s*[:=]\s*"
    r"\"?'?)(?P<value>(?:bearer\s+|basic\s+|token\s+)?[^\s\"',}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """Remove query strings, auth headers and token-looking key/value pairs from text."""
    text = _URL_QUERY.sub(lambda m: f"{m.group('path')}?{REDACTED}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group('key')}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_KV.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


def endpoint(url: str | None) -> str:
    """Just the path of a URL: what errors and logs may name."""
    return urlsplit(url or "").path or "/"


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message (e.g. urllib3's debug lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # pragma: no cover - malformed log call
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_INSTALLED: set[str] = set()


def install_log_redaction(*logger_names: str) -> None:
    """Attach RedactingFilter to loggers that print URLs (idempotent).

    Defaults to urllib3's connection pool, which logs ``GET /path?query`` at DEBUG.
    """
    for name in logger_names or ("urllib3.connectionpool", "urllib3", "requests"):
        if name in _INSTALLED:
            continue
        logging.getLogger(name).addFilter(RedactingFilter())
        _INSTALLED.add(name)
