"""One UTC text format for every instant a tap emits or bookmarks.

Why: singer-sdk compares replication-key bookmarks as *strings*. "2024-01-01T12:00:00Z",
"2024-01-01T12:00:00.000+0000" and "2024-01-01T07:00:00-05:00" are the same instant but
sort differently, and a format without fractional seconds sorts *after* one with them
("...:00Z" > "...:00.5Z" because "Z" > "."). Always emitting ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(fixed width, always microseconds, always UTC) makes string order equal time order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_MS_THRESHOLD = 100_000_000_000  # epoch numbers above this (year 5138 in s) are milliseconds


def parse_instant(value: Any) -> datetime | None:
    """Parse a timestamp into an aware UTC datetime (None for None/"").

    Accepts ISO-8601 strings with ``Z``, ``+0000``, ``+00:00`` or any other offset (naive
    strings and date-only strings are UTC), epoch seconds or milliseconds as int/float or
    numeric string, ``datetime`` (naive = UTC) and ``date``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float):
        moment = _from_epoch(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = _from_epoch(float(text)) if _is_number(text) else _from_iso(text)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"not a timestamp: {value!r}") from None
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalize_utc(value: Any) -> str | None:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (None for None/""); see parse_instant."""
    moment = parse_instant(value)
    return None if moment is None else moment.strftime(UTC_FORMAT)


def normalize_utc_or_keep(value: Any) -> Any:
    """normalize_utc, but a value that is not an instant comes back unchanged.

    For fields that are not bookmarks: one malformed date in a source record should not
    fail the sync; passed on as is, it fails the loader's TIMESTAMPTZ cast and that row is
    quarantined with the value in the reason, while the rest loads.
    """
    try:
        return normalize_utc(value)
    except ValueError:
        return value


def to_epoch(value: Any) -> int:
    """Whole epoch seconds for any value parse_instant accepts (e.g. Zendesk start_time)."""
    moment = parse_instant(value)
    if moment is None:
        raise ValueError("not a timestamp: empty value")
    return int(moment.timestamp())


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns None when the header is absent or unparsable (callers then use backoff).
    """
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def server_now(headers: Any) -> datetime | None:
    """The server's clock from a response's ``Date`` header (or a Response), if any.

    Why: "now" for end-of-window bookmarks must come from the source, not the local clock.
    """
    headers = getattr(headers, "headers", headers)
    raw = headers.get("Date") if headers is not None else None
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.lower() not in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf")


def _from_epoch(number: float) -> datetime:
    if abs(number) >= _MS_THRESHOLD:
        number = number / 1000
    return datetime.fromtimestamp(number, UTC)


def _from_iso(text: str) -> datetime:
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)
