"""Progress lines for people watching the main job (the Dagster log gets them too)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

_sink: Callable[[str], None] | None = None
_lock = threading.Lock()


def set_sink(sink: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Send progress lines to `sink` (None: only the Dagster log); returns the previous sink."""
    global _sink
    with _lock:
        previous, _sink = _sink, sink
    return previous


def emit(message: str, context: Any | None = None) -> None:
    """Log `message` to the run's Dagster log and, during the main job, to the terminal."""
    if context is not None:
        context.log.info(message)
    sink = _sink
    if sink is not None:
        sink(message)


def stdout_sink(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
