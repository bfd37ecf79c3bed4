"""The ``communitybench`` command line.

Global options ``--config`` and ``--warehouse`` (or COMMUNITYBENCH_CONFIG /
COMMUNITYBENCH_WAREHOUSE) are honoured by every command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from communitybench import report, stages
from communitybench.commands.communities import communities as communities_command
from communitybench.commands.crawl import crawl as crawl_command
from communitybench.commands.serve import serve as serve_command
from communitybench.commands.sql import sql as sql_command
from communitybench.commands.tasks import tasks as tasks_command
from communitybench.config import BuildConfig, ConfigError, load_config
from communitybench.settings import get_settings
from transforms.takedowns import TakedownError
from warehouse import StageInputError

app = typer.Typer(
    help="Build, validate and rebuild a benchmark of community-level preferences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


class Context:
    """What the global options resolve to."""

    def __init__(self, config_path: Path, warehouse_path: Path):
        self.config_path = config_path
        self.warehouse_path = warehouse_path

    def config(self) -> BuildConfig:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            err.print(f"[red]config error:[/red] {exc}")
            raise typer.Exit(2) from None


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Build config TOML [default: $COMMUNITYBENCH_CONFIG or configs/demo.toml]",
        ),
    ] = None,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse",
            "-w",
            help="DuckDB file [default: $COMMUNITYBENCH_WAREHOUSE or warehouse/...duckdb]",
        ),
    ] = None,
) -> None:
    settings = get_settings()
    ctx.obj = Context(config or settings.config, warehouse or settings.warehouse)


@app.command("demo-forum")
def demo_forum(
    out: Annotated[Path, typer.Option("--out", help="Folder for RS_/RC_ dumps and truth.json")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed → byte-identical files)")] = 7,
    scale: Annotated[float, typer.Option(help="Size multiplier (1.0 ≈ 600 members)")] = 1.0,
    months: Annotated[int, typer.Option(help="1, or 2 to add a second month (~10% more)")] = 1,
) -> None:
    """Generate the deterministic demo forum with planted communities and noise."""
    from communitybench.sources.demo.forum import write_demo_forum

    summary = write_demo_forum(out, seed=seed, scale=scale, months=months, progress=True)
    typer.echo(json.dumps(summary, indent=1, default=str))


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="NDJSON dump files (plain, .gz, .zst)")],
    subreddit: Annotated[
        list[str] | None, typer.Option("--subreddit", "-s", help="Keep only these (repeatable)")
    ] = None,
    no_staging: Annotated[
        bool, typer.Option("--no-staging", help="Do not rebuild staging afterwards")
    ] = False,
) -> None:
    """Stream dump files into raw tables (bad lines → quarantine) and rebuild staging."""
    obj: Context = ctx.obj
    config = obj.config()
    if subreddit:
        filters = config.filters.model_copy(update={"subreddits": subreddit})
        config = config.model_copy(update={"filters": filters})
    try:
        if config.runner.kind == "dask":  # decode on Dask workers, merged here (flows/ingest.py)
            from flows.ingest import ingest_on_runner

            summary = ingest_on_runner(config, obj.warehouse_path, paths)
        else:
            summary = stages.run_ingest(obj.warehouse_path, paths, **stages.ingest_kwargs(config))
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report.print_tables(report.ingest_table(summary))
    if not no_staging:
        _staging(obj.warehouse_path, config)


@app.command()
def staging(ctx: typer.Context) -> None:
    """Rebuild stg_submissions / stg_comments (drop_reason annotations) from raw tables."""
    obj: Context = ctx.obj
    _staging(obj.warehouse_path, obj.config())


def _staging(warehouse_path: Path, config: BuildConfig) -> None:
    try:
        summary = stages.run_staging(
            warehouse_path, **stages.staging_kwargs(config.clean, config=config)
        )
    except (FileNotFoundError, TakedownError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report.print_tables(report.staging_table(summary))


@app.command("build-release")
def build_release(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Option(help="Release version [default: UTC date YYYY.MM.DD, then -2, -3]")
    ] = None,
) -> None:
    """Run the whole pipeline as the Prefect flow build_release (demo forum by default)."""
    from communitybench.release.validation import ValidationFailed
    from communitybench.release.versions import ReleaseError
    from flows.build_release import build_release as flow
    from warehouse.swap import RebuildError

    obj: Context = ctx.obj
    config = obj.config()
    settings = get_settings()
    try:
        summary = flow(
            config=config,
            warehouse_path=obj.warehouse_path,
            releases_dir=settings.releases_dir,
            build_dir=settings.build_dir,
            version=version,
        )
    except (ValidationFailed, ReleaseError) as exc:
        err.print(f"[red]release blocked:[/red] {exc}")
        raise typer.Exit(1) from None
    except RebuildError as exc:
        err.print(f"[red]build not swapped in:[/red] {exc}")
        raise typer.Exit(1) from None
    except (FileNotFoundError, TakedownError, StageInputError) as exc:
        err.print(f"[red]build failed (live warehouse and releases untouched):[/red] {exc}")
        raise typer.Exit(2) from None
    if "ingest" in summary:
        report.print_tables(report.ingest_table(summary["ingest"]))
    report.print_tables(report.staging_table(summary["staging"]))
    if summary.get("stage_reuse"):
        report.print_tables(report.reuse_table(summary["stage_reuse"]))
    release = summary["release"]
    typer.echo(f"warehouse: {obj.warehouse_path}")
    if release.get("reused_from"):
        typer.echo(
            f"release:   {release['path']} (nothing changed since "
            f"{release['reused_from']}: every stage reused, its files republished)"
        )
    else:
        typer.echo(
            f"release:   {release['path']} (validation passed; Data Docs in "
            f"{release['validation']['docs_dir']})"
        )


app.command("crawl")(crawl_command)
app.command("communities")(communities_command)
app.command("tasks")(tasks_command)
app.command("sql")(sql_command)
app.command("serve")(serve_command)


if __name__ == "__main__":
    app()
