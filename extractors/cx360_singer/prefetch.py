"""Run an iterator one step ahead on a background thread.

Why: a tap waits for the server, then works on the answer; asking for the next page or
export window while this one is processed overlaps the two (an Amplitude export window is
downloaded while the last one is decoded; Zendesk's next export page is fetched while
this one becomes rows).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


def prefetched(items: Iterator[T], depth: int = 1, name: str = "prefetch") -> Iterator[T]:
    """Yield `items`, produced by a worker thread at most `depth` items ahead.

    An exception in the worker is re-raised here, in order. Closing this generator stops
    the worker (it finishes the step it is in, then closes `items`).
    """
    queue: Queue[tuple[bool, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not offer((True, item)):
                    return
            offer((False, None))
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer((False, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while True:
            try:
                more, value = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                if not worker.is_alive() and queue.empty():
                    raise RuntimeError(f"{name}: worker stopped without a result") from None
                continue
            if more:
                yield value  # type: ignore[misc]
            elif value is None:
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
