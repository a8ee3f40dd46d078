"""The simulated calendar. All instants are UTC epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime

DAY = 86_400
HOUR = 3_600
MINUTE = 60


def epoch(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp())


HISTORY_START = epoch(2023, 11, 1)
"""First day of simulated business history (about three years before the anchor)."""

ANCHOR = epoch(2026, 11, 1)
"""The sandbox clock's initial `now`: data after it is revealed by advancing the clock."""

HORIZON = epoch(2026, 12, 31)
"""Nothing is generated after this instant; the clock cannot advance past it."""


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
