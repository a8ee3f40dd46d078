"""The `cx360` command line."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import typer
from cx360_sandbox.scale import SCALES, UnknownScaleError
from cx360_sandbox.store import DEFAULT_ROOT, BadSeedError, generate_world

app = typer.Typer(help="cx360: Customer 360 warehouse for CX teams.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The local source sandbox (synthetic company + API imitations).")
app.add_typer(sandbox_app, name="sandbox")

_SCALE_HELP = f"Scale preset: {', '.join(SCALES)}."


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _generate(scale: str, seed: int, root: Path, force: bool = False):
    try:
        return generate_world(scale, seed, root=root, force=force)
    except (UnknownScaleError, BadSeedError) as error:
        _fail(str(error))


@sandbox_app.command("generate")
def sandbox_generate(
    scale: str = typer.Option("demo", help=_SCALE_HELP),
    seed: int = typer.Option(42, help="Random seed; the same seed gives byte-identical files."),
    root: Path = typer.Option(DEFAULT_ROOT, help="Where generated worlds are kept."),
    force: bool = typer.Option(False, help="Regenerate even if the files exist."),
) -> None:
    """Generate the synthetic company and its ground truth as Parquet files."""
    started = time.perf_counter()
    files = _generate(scale, seed, root, force)
    seconds = time.perf_counter() - started
    rows = sum(t["rows"] for t in files.tables.values())
    typer.echo(f"world {scale}/seed {seed} in {files.directory} ({rows:,} rows, {seconds:.1f}s)")
    for name, table in files.tables.items():
        typer.echo(f"  {name:32} {table['rows']:>12,}")


@sandbox_app.command("serve")
def sandbox_serve(
    scale: str = typer.Option("demo", help=_SCALE_HELP),
    seed: int = typer.Option(42, help="Random seed."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="TCP port (0 picks a free one)."),
    root: Path = typer.Option(DEFAULT_ROOT, help="Where generated worlds are kept."),
) -> None:
    """Serve the Salesforce, Zendesk, Qualtrics, Delighted and Amplitude imitations."""
    from cx360_sandbox.server.core import RunningSandbox

    files = _generate(scale, seed, root)
    try:
        sandbox = RunningSandbox(files, host=host, port=port)
    except OSError as error:
        _fail(str(error))
    with sandbox:
        typer.echo(f"cx360 sandbox ({scale}, seed {seed}) listening on {sandbox.url}")
        for api, path in API_PATHS.items():
            typer.echo(f"  {api:11} {sandbox.url}{path}")
        typer.echo(f"  {'control':11} {sandbox.url}/_sandbox/status")
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, SystemExit):
            typer.echo("sandbox stopped")


API_PATHS = {
    "salesforce": "/salesforce",
    "zendesk": "/zendesk/api/v2",
    "qualtrics": "/qualtrics/API/v3",
    "delighted": "/delighted/v1",
    "amplitude": "/amplitude/api/2",
}


@sandbox_app.command("show")
def sandbox_show(
    scale: str = typer.Option("demo", help=_SCALE_HELP),
    seed: int = typer.Option(42, help="Random seed."),
    root: Path = typer.Option(DEFAULT_ROOT, help="Where generated worlds are kept."),
) -> None:
    """Start the sandbox, page through every API once, and print what it serves."""
    from cx360_sandbox.server.core import RunningSandbox
    from cx360_sandbox.tour import tour

    files = _generate(scale, seed, root)
    with RunningSandbox(files) as sandbox:
        typer.echo(f"cx360 sandbox ({scale}, seed {seed}) at {sandbox.url}, clock at the anchor")
        for line in tour(sandbox.url):
            typer.echo(line)


DEFAULT_WAREHOUSE = Path(".cx360") / "warehouse.duckdb"
DEFAULT_LOGS = Path(".cx360") / "logs"


def _sandbox_environment() -> dict[str, str]:
    """The process environment, with sandbox credentials wherever none is set."""
    import os

    from cx360_sandbox.server.credentials import sandbox_credentials

    return {**sandbox_credentials(), **os.environ}


def _print_results(results: list) -> None:
    for result in results:
        for stream in result.streams:
            typer.echo("  " + stream.line())


@app.command("extract")
def extract_command(
    sources: list[str] = typer.Argument(
        None, help="Sources or source.stream names to extract (default: all)."
    ),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="DuckDB warehouse file."),
    sandbox_url: str = typer.Option(
        None, help="Extract from a running sandbox at this URL instead of the real APIs."
    ),
    logs: Path = typer.Option(DEFAULT_LOGS, help="Where tap logs go."),
) -> None:
    """Run taps into the warehouse, incrementally from the state stored there."""
    from cx360.extract import ExtractError, extract

    env = _sandbox_environment() if sandbox_url else None
    try:
        results = extract(
            sources or [], warehouse, sandbox_url=sandbox_url, log_dir=logs, env=env,
            progress=typer.echo,
        )  # fmt: skip
    except ExtractError as error:
        _fail(str(error))
    _print_results(results)


@app.command("run")
def run_command(
    scale: str = typer.Option("demo", help=_SCALE_HELP),
    seed: int = typer.Option(42, help="Random seed of the sandbox's synthetic company."),
    data_dir: Path = typer.Option(
        Path(".cx360"), help="Warehouse, BI snapshot, docs, reports and logs."
    ),
    warehouse: Path = typer.Option(
        None, help="DuckDB warehouse (default <data-dir>/warehouse.duckdb)."
    ),
    root: Path = typer.Option(DEFAULT_ROOT, help="Where generated worlds are kept."),
    sandbox: bool = typer.Option(
        True, "--sandbox/--real-apis", help="The local sandbox, or the real APIs (environment)."
    ),
) -> None:
    """The main job: sandbox → extract → quality gates → dbt build → BI snapshot, docs, reports."""
    from cx360.extract import MissingEnvironmentError
    from orchestration.jobs import run_main_job

    if sandbox:
        _generate(scale, seed, root)  # bad scale or seed: the CLI's own clear error
    try:
        result = run_main_job(
            scale, seed, warehouse=warehouse, data_dir=data_dir, world_root=root, sandbox=sandbox
        )
    except MissingEnvironmentError as error:
        _fail(str(error))
    if not result.success:
        raise typer.Exit(code=1)


@app.command("version")
def version() -> None:
    """Print the cx360 version."""
    from cx360 import __version__

    typer.echo(json.dumps({"cx360": __version__}))


def main() -> None:
    app()
