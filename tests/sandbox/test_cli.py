"""`cx360 sandbox …` from the command line: what users see, including on bad input."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from cx360_sandbox.store import WorldFiles

CX360 = str(Path(sys.executable).with_name("cx360"))


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # rich wraps usage errors to the terminal width
    return subprocess.run([CX360, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_generate_prints_every_table(tmp_path: Path) -> None:
    result = _run("sandbox", "generate", "--scale", "tiny", "--seed", "42", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "sf_accounts" in result.stdout and "amp_events" in result.stdout
    assert (tmp_path / "tiny-seed42" / "manifest.json").exists()


def test_unknown_scale_and_bad_seed_exit_non_zero_with_a_clear_error(tmp_path: Path) -> None:
    result = _run("sandbox", "generate", "--scale", "gigantic", "--root", str(tmp_path))
    assert result.returncode == 2
    assert "unknown scale 'gigantic'; choose one of: tiny, demo, medium, large" in result.stderr
    result = _run("sandbox", "generate", "--scale", "tiny", "--seed", "-5", "--root", str(tmp_path))
    assert result.returncode == 2 and "seed must be an integer" in result.stderr
    result = _run("sandbox", "generate", "--seed", "abc", "--root", str(tmp_path))
    assert result.returncode == 2 and "Invalid value for '--seed'" in result.stderr


def test_port_in_use_is_a_clear_error(tiny_world: WorldFiles) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(
            "sandbox", "serve", "--scale", "tiny", "--port", str(port),
            "--root", str(tiny_world.directory.parent),
        )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_show_pages_through_every_api(tiny_world: WorldFiles) -> None:
    result = _run("sandbox", "show", "--scale", "tiny", "--root", str(tiny_world.directory.parent))
    assert result.returncode == 0, result.stderr
    for needle in (
        "salesforce Account",
        "zendesk    tickets",
        "qualtrics",
        "delighted",
        "amplitude",
    ):
        assert needle in result.stdout
