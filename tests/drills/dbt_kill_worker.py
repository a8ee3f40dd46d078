"""Helper process of the dbt kill drill: `dbt build` SIGKILLed at seeded points.

    python -m tests.drills.dbt_kill_worker --warehouse W --project P --target T --seed 6 --kills 20

Loads dbt and parses the project once, then for each kill forks a child that runs
``dbt build`` (models, seeds and snapshots: the nodes that write) with the parsed manifest,
and SIGKILLs itself a seeded random delay after its k-th node started, k seeded among all
such nodes. Forking keeps each kill cheap (no interpreter start, no parse) while the killed
process is a real, separate dbt run with its own DuckDB connection. Each kill leaves the
warehouse as it was at that moment, and the next run starts from there, like a scheduler
restarting after a crash. Prints one JSON line per kill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

WRITING = ("model", "seed", "snapshot")


def _common(project: Path, target: Path) -> list[str]:
    return ["--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"]  # fmt: skip


def _killed_build(manifest: object, args: list[str], node: int, delay: float) -> None:
    """In the forked child: run the build, SIGKILL this process `delay` s after node `node`."""
    from dbt.cli.main import dbtRunner

    started = 0

    def on_event(event: object) -> None:
        nonlocal started
        if event.info.name == "LogStartLine":  # type: ignore[attr-defined]
            started += 1
            if started == node:
                threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()

    dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(args)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--kills", type=int, default=20)
    options = parser.parse_args()
    os.environ["CX360_WAREHOUSE"] = str(options.warehouse.resolve())
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    from dbt.cli.main import dbtRunner

    common = _common(options.project, options.target)
    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        raise SystemExit(f"dbt parse failed: {parsed.exception}")
    manifest = parsed.result
    writing = [
        uid for uid, node in manifest.nodes.items()
        if node.resource_type.value in WRITING and node.config.materialized != "ephemeral"
    ]  # fmt: skip
    args = ["build", "--exclude", "resource_type:test", "resource_type:unit_test", *common]
    rng = random.Random(options.seed)
    for kill in range(1, options.kills + 1):
        node, delay = rng.randint(1, len(writing)), round(rng.uniform(0.0, 0.5), 3)
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: a dbt build that dies mid-way
            try:
                _killed_build(manifest, args, node, delay)
            finally:
                os._exit(0)  # reached only if the build ended before the kill
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print(json.dumps({
            "kill": kill, "node": node, "of": len(writing), "delay": delay, "killed": killed,
            "seconds": round(time.perf_counter() - started, 2),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
