"""The sandbox singer-sdk's built-in tap suite runs against.

`get_tap_test_class` builds its tests at collection time and needs a live URL then, so each
tap's test module starts one sandbox over its own `tiny` world at import (the per-test
`sandbox` fixture comes too late). The sandbox stops, and its world's directory is removed,
when the test session's interpreter exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from cx360_sandbox.server.core import RunningSandbox
from cx360_sandbox.store import generate_world


def start_suite_sandbox(source: str) -> RunningSandbox:
    """A running sandbox over a fresh `tiny` world (seed 42), torn down at exit."""
    root = Path(tempfile.mkdtemp(prefix=f"cx360-{source}-suite-"))
    sandbox = RunningSandbox(generate_world("tiny", 42, root=root)).__enter__()

    def stop() -> None:
        sandbox.__exit__(None, None, None)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return sandbox
