"""A minimal headless-Chromium driver over the DevTools protocol (no extra browser downloads).

Uses the system's Chromium (Debian: ``apt-get install chromium``), started by the test; without
it the browser tests FAIL with the install instruction (they never skip).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

INSTALL = (
    "the browser tests need Debian's Chromium: `sudo apt-get install -y chromium` "
    "(or set CX360_CHROMIUM to a Chromium/Chrome binary)"
)


def chromium_binary() -> str:
    candidates = [os.environ.get("CX360_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    for candidate in candidates:
        if candidate and (path := shutil.which(candidate)):
            return path
    pytest.fail(f"Chromium not found: {INSTALL}", pytrace=False)


@dataclass
class Page:
    url: str
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.exceptions + self.failed_requests


class Browser:
    """``with Browser() as browser: page, value = browser.open(url, js_condition)``"""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.binary = chromium_binary()
        self.size = (width, height)
        self._id = 0

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        self._profile = Path(tempfile.mkdtemp(prefix="cx360-chromium-"))
        args = [
            self.binary, "--headless=new", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
            f"--user-data-dir={self._profile}", f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root (containers, CI)
        # its own process group: Chromium's helpers are ended with it (see __exit__)
        self.process = subprocess.Popen(
            args, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        deadline = time.monotonic() + 60
        endpoint = None
        assert self.process.stderr is not None
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                endpoint = match.group(1)
                break
        if endpoint is None:
            self.process.kill()
            _remove_profile(self.process.pid, self._profile)
            pytest.fail(f"Chromium did not start ({self.binary}); {INSTALL}", pytrace=False)
        self._connection = connect(endpoint, max_size=None, open_timeout=30)
        self.ws = self._connection.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            _remove_profile(self.process.pid, self._profile)

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        return self._id

    def _call(self, method: str, params=None, session=None, page: Page | None = None, timeout=60):
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message, page)
        raise TimeoutError(method)

    def _record(self, message: dict, page: Page | None) -> None:
        if page is None:
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            if params["type"] in ("error", "assert"):
                page.console_errors.append(text)
            elif params["type"] == "warning":
                page.console_warnings.append(text)
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            page.exceptions.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            page.console_errors.append(f"{entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.loadingFailed":
            page.failed_requests.append(f"{params.get('errorText')} ({params.get('requestId')})")

    def open(self, url: str, condition: str, timeout: float = 60) -> tuple[Page, Any]:
        """Load `url`, wait until the JS expression `condition` is truthy; (page, its value)."""
        page = Page(url)
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self._call(f"{domain}.enable", session=session, page=page)
        self._call("Page.navigate", {"url": url}, session=session, page=page)
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            result = self._call(
                "Runtime.evaluate",
                {"expression": condition, "returnByValue": True, "awaitPromise": True},
                session=session,
                page=page,
            )
            value = result.get("result", {}).get("value")
            if value:
                break
            time.sleep(0.25)
        # let late errors (async scripts, images) arrive
        settle = time.monotonic() + 1.0
        while time.monotonic() < settle:
            with contextlib.suppress(TimeoutError):
                self._record(json.loads(self.ws.recv(timeout=0.2)), page)
        self._call("Target.closeTarget", {"targetId": target})
        return page, value


def _remove_profile(process_group: int, profile: Path) -> None:
    """Remove the browser's profile once every process of its group is gone: Chromium's
    helpers (renderer, GPU, crash handler) can outlive the browser process for a moment
    and still write to the profile, which made its removal fail now and then."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process_group, signal.SIGKILL)
    for attempt in range(50):
        try:
            shutil.rmtree(profile)
            return
        except FileNotFoundError:
            return
        except OSError:
            if attempt == 49:
                raise
            time.sleep(0.1)
