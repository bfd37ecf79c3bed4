"""The ``communitybench`` command line.

Every command that builds something runs stages through the one Prefect flow
(``flows/pipeline.py``) and prints their results with the one renderer
(``communitybench/render.py``). Global options ``--config`` and ``--warehouse`` (or
COMMUNITYBENCH_CONFIG / COMMUNITYBENCH_WAREHOUSE) are honoured by every command. The CLI sits on
top of the flows (communitybench → flows → this module), so nothing imports it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from communitybench import render
from communitybench.config import BuildConfig, ConfigError, default_config, load_config
from communitybench.settings import get_settings
from flows.errors import err, user_errors

app = typer.Typer(
    help="Build, validate and rebuild a benchmark of community-level preferences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# per-stage commands: a command runs these stages, in pipeline order
STAGE_COMMANDS = {
    "staging": ("staging",),
    "communities": ("texts", "embeddings", "members", "communities"),
    "tasks": ("labels", "profiles", "tasks"),
}


class Context:
    """What the global options resolve to."""

    def __init__(self, config_path: Path | None, warehouse_path: Path):
        self.config_path = config_path  # None: configs/demo.toml or the built-in defaults
        self.warehouse_path = warehouse_path

    def config(self) -> BuildConfig:
        try:
            if self.config_path is None:
                return default_config()
            return load_config(self.config_path)
        except ConfigError as exc:
            err.print(f"[red]config error:[/red] {escape(str(exc))}", highlight=False)
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


def release_paths(version: str | None = None) -> dict:
    """Where the release stage publishes (the environment's settings) and the version asked."""
    settings = get_settings()
    return {
        "releases_dir": settings.releases_dir,
        "build_dir": settings.build_dir,
        "version": version,
    }


def run_and_show(
    obj: Context,
    names: tuple[str, ...],
    config: BuildConfig | None = None,
    *,
    inline: bool = False,
    **extras,
) -> list:
    """Run stages through the flow on the configured warehouse (``inline``: in this process,
    no flow run; see ``pipeline.run_inline``); print their results."""
    config = config or obj.config()
    with user_errors():
        if inline:
            from communitybench.pipeline import run_inline

            results = run_inline(config, obj.warehouse_path, list(names), **extras)
        else:
            from flows.pipeline import run

            results, _ = run(config, obj.warehouse_path, list(names), **release_paths(), **extras)
    render.render_terminal(results)
    return results


def _stage_command(name: str, stages: tuple[str, ...]) -> Callable:
    def command(ctx: typer.Context) -> None:
        run_and_show(ctx.obj, stages)

    # the stage docs are not read here: that would import every stage module at start
    command.__doc__ = (
        f"Run the {', '.join(stages)} stage(s) (what each does: `communitybench stages`)."
    )
    command.__name__ = name
    return command


for _name, _stages in STAGE_COMMANDS.items():
    app.command(_name)(_stage_command(_name, _stages))


@app.command("run")
def run_command(
    ctx: typer.Context,
    stages: Annotated[list[str], typer.Argument(help="Stage names (see `communitybench stages`)")],
) -> None:
    """Run the named stages, in pipeline order, on the warehouse."""
    from communitybench.pipeline import stage

    with user_errors():
        names = tuple(stage(n).name for n in stages)
    run_and_show(ctx.obj, names)


@app.command("stages")
def stages_command() -> None:
    """List the pipeline's stages in order: what each does, reads and writes."""
    from communitybench.stages import STAGES

    table = RichTable(title="the pipeline (communitybench/stages/, in order)")
    for column in ("stage", "version", "what it does", "reads", "writes"):
        table.add_column(column, overflow="fold")
    for s in STAGES:
        table.add_row(s.name, s.version, s.doc, ", ".join(s.inputs), ", ".join(s.outputs))
    Console().print(table)


@app.command("demo-forum")
def demo_forum(
    out: Annotated[Path, typer.Option("--out", help="Folder for RS_/RC_ dumps and truth.json")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed → byte-identical files)")] = 7,
    scale: Annotated[float, typer.Option(help="Size multiplier (1.0 ≈ 600 members)")] = 1.0,
    months: Annotated[int, typer.Option(help="1, or 2 to add a second month (~10% more)")] = 1,
    profile: Annotated[
        Literal["easy", "realistic"],
        typer.Option(help="easy: vocabulary-separable; realistic: shared topics, heavy tail"),
    ] = "easy",
) -> None:
    """Generate the deterministic demo forum with planted communities and noise (files only)."""
    from communitybench.sources.demo.forum import write_demo_forum

    summary = write_demo_forum(
        out, seed=seed, scale=scale, months=months, profile=profile, progress=True
    )
    typer.echo(json.dumps(summary, indent=1, default=str))


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="NDJSON dump files (plain, .gz, .zst), or Stack Exchange site dumps: a folder "
            "with Posts.xml (Votes.xml, Comments.xml when present) or the site's .7z archive"
        ),
    ],
    subreddit: Annotated[
        list[str] | None, typer.Option("--subreddit", "-s", help="Keep only these (repeatable)")
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            help="Stack Exchange site host (e.g. quantumcomputing.stackexchange.com) for a "
            "folder not named after it",
        ),
    ] = None,
    no_staging: Annotated[
        bool, typer.Option("--no-staging", help="Do not rebuild staging afterwards")
    ] = False,
    flow: Annotated[
        bool,
        typer.Option(
            "--flow",
            help="Run as a Prefect flow even with the local runner (a Dask runner always does)",
        ),
    ] = False,
) -> None:
    """Stream dump files or Stack Exchange site dumps into raw tables (bad lines → quarantine),
    then rebuild staging.

    With the local runner the stages run in this process (no Prefect flow run: starting
    Prefect's API server costs more than ingesting a month of one subreddit). With a Dask
    runner, or --flow, they run as the Prefect flow run_stages."""
    obj: Context = ctx.obj
    config = obj.config()
    update: dict = {}
    if config.source.kind == "reddit":  # files given by hand: a dump ingest, not a crawl
        update["source"] = config.source.model_copy(update={"kind": "dumps"})
    if site:
        se = config.source.stackexchange.model_copy(update={"site": site})
        source = update.get("source", config.source)
        update["source"] = source.model_copy(update={"stackexchange": se})
    if subreddit:
        update["filters"] = config.filters.model_copy(update={"subreddits": subreddit})
    stages = ("ingest",) if no_staging else ("ingest", "staging")
    files = tuple(p.resolve() for p in paths)  # the ingest stage's paths, instead of the config's
    config = config.model_copy(update=update)
    inline = config.runner.kind == "local" and not flow
    run_and_show(obj, stages, config, inline=inline, paths=files)


@app.command()
def crawl(
    ctx: typer.Context,
    subreddit: Annotated[
        list[str] | None,
        typer.Option(
            "--subreddit", "-s", help="Crawl these instead of [reddit].subreddits (repeatable)"
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, help="Items per listing instead of [reddit].limit"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Build config TOML (overrides the global --config)"),
    ] = None,
) -> None:
    """Crawl subreddits (listings, comment trees, member histories); resumes after a crash."""
    obj: Context = ctx.obj
    if config is not None:
        obj = Context(config, obj.warehouse_path)
    built = obj.config()
    reddit = built.reddit.model_copy(
        update={k: v for k, v in (("subreddits", subreddit), ("limit", limit)) if v}
    )
    source = built.source.model_copy(update={"kind": "reddit"})
    run_and_show(obj, ("crawl",), built.model_copy(update={"reddit": reddit, "source": source}))


@app.command("build-release")
def build_release(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Option(help="Release version [default: UTC date YYYY.MM.DD, then -2, -3]")
    ] = None,
) -> None:
    """Run the whole pipeline as the Prefect flow build_release (demo forum by default)."""
    from communitybench import pipeline
    from flows.build_release import build_release as flow

    obj: Context = ctx.obj
    config = obj.config()
    paths = release_paths(version)
    with user_errors("build failed (live warehouse and releases untouched)"):
        pipeline.preflight(config, obj.warehouse_path, **paths)
        summary = flow(config=config, warehouse_path=obj.warehouse_path, **paths)
    render.render_terminal(summary.results)
    console = Console()
    console.print(render.rich_table(render.reuse_table(summary.stage_reuse)))
    typer.echo(f"warehouse: {obj.warehouse_path}")
    typer.echo(summary.result("release").notes[0])


@app.command()
def sql(
    ctx: typer.Context,
    command: Annotated[
        str | None,
        typer.Option("--command", "-c", help="Run these statements, print the results and exit"),
    ] = None,
    max_rows: Annotated[int, typer.Option(help="Rows printed per result")] = 40,
) -> None:
    """Interactive read-only SQL on the warehouse (works while a build runs)."""
    from warehouse.shell import Shell, ShellError

    try:
        shell = Shell(Path(ctx.obj.warehouse_path), max_rows=max_rows)
    except ShellError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if command is not None:
        ok = shell.run(command)
        shell.close()
        raise typer.Exit(0 if ok else 1)
    shell.loop()


@app.command()
def serve(
    ctx: typer.Context,
    cron: Annotated[
        str | None,
        typer.Option(help="Cron expression for rebuilds (five fields) [default: 0 3 * * 1]"),
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone the cron is read in")] = "UTC",
    overlap: Annotated[
        str,
        typer.Option(
            help="A run that starts while another rebuild runs (concurrency limit 1): 'cancel' "
            "→ Cancelled; 'wait' → AwaitingConcurrencySlot, retried every 30 s until free",
        ),
    ] = "cancel",
    api_url: Annotated[
        str | None,
        typer.Option(
            envvar="PREFECT_API_URL",
            help="Prefect server API (loopback) [default: http://127.0.0.1:4200/api]",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="Log level of the runs (their logs go to the server and stdout)")
    ] = "INFO",
) -> None:
    """Serve build_release on a cron schedule from a local Prefect server (runs until stopped).

    Needs a Prefect server on 127.0.0.1 (`make serve` starts one and then this command). The
    deployment 'scheduled_build_release/scheduled' has a Prefect deployment concurrency limit
    of 1, so two rebuilds never overlap. Each run re-reads --config and writes to --warehouse
    and $COMMUNITYBENCH_RELEASES_DIR. SIGTERM/Ctrl-C stop it and pause the schedule.
    """
    from flows import serve as scheduling  # Prefect's deployment machinery: loaded when used
    from flows.scheduled import scheduled_build_release

    cron = cron or scheduling.DEFAULT_CRON
    api_url = api_url or scheduling.DEFAULT_API_URL
    obj: Context = ctx.obj
    obj.config()  # a bad config stops here, not at 03:00 on Monday
    parameters = {
        "config_path": str(obj.config_path.resolve()) if obj.config_path else None,
        "warehouse_path": str(obj.warehouse_path.resolve()),
    }
    try:
        deployment = scheduling.build_deployment(
            scheduled_build_release,
            cron=cron,
            timezone=timezone,
            overlap=overlap,
            parameters=parameters,
        )
        scheduling.check_server(api_url)
    except scheduling.ServeError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    err.print(
        f"serving scheduled_build_release/{deployment.name}: cron {cron!r} ({timezone}), "
        f"at most one run at a time (overlap: {overlap}); server {api_url}"
    )
    scheduling.serve_deployment(deployment, api_url, log_level=log_level.upper())


def _chat_config(model: str, base_url: str | None, concurrency: int, max_tokens: int):
    from communitybench.evaluate.chat import ChatConfig

    settings = get_settings()
    url = base_url or settings.llm_base_url
    if not url:
        err.print("[red]error:[/red] --model needs --base-url or $COMMUNITYBENCH_LLM_BASE_URL")
        raise typer.Exit(2)
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return ChatConfig(
        base_url=url, model=model, api_key=key, concurrency=concurrency, max_tokens=max_tokens
    )


@app.command()
def evaluate(
    release: Annotated[str, typer.Option(help="Release folder, or a version under releases/")],
    out: Annotated[Path, typer.Option(help="Where metrics.json is written")],
    predictions: Annotated[
        Path | None, typer.Option(help="JSONL: {task, instance_id, prediction} per line")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Run this chat model (OpenAI-compatible) over the tasks")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="Endpoint for --model/--judge-model [$COMMUNITYBENCH_LLM_BASE_URL]"),
    ] = None,
    split: Annotated[str, typer.Option(help="train, dev or test")] = "test",
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="Score instances without a prediction as wrong")
    ] = False,
    judge_model: Annotated[
        str | None, typer.Option(help="Also judge CCG pairwise with this chat model")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight")] = 4,
    max_tokens: Annotated[int, typer.Option(min=16, help="Answer length limit")] = 400,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="--model: answers cache + predictions [default: beside --out]"),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Score only N instances per task (fixed by a hash of their ids)"),
    ] = None,
) -> None:
    """Score predictions (or a chat model) on a release: PI/CI accuracy, DP tau/top-1/JSD, CCG."""
    from communitybench.evaluate import commands

    chat = _chat_config(model, base_url, concurrency, max_tokens) if model else None
    judge = _chat_config(judge_model, base_url, concurrency, 64) if judge_model else None
    with user_errors():
        metrics = commands.evaluate(
            release=release,
            releases_dir=get_settings().releases_dir,
            out=out,
            split=split,
            predictions=predictions,
            allow_missing=allow_missing,
            model=chat,
            work_dir=work_dir,
            judge=judge,
            sample=sample,
        )
    typer.echo(json.dumps(metrics["summary"], indent=1))
    typer.echo(f"metrics: {out}")


@app.command()
def baselines(
    release: Annotated[str, typer.Option(help="Release folder, or a version under releases/")],
    out: Annotated[Path, typer.Option(help="Where baselines.json is written")],
    split: Annotated[
        str, typer.Option(help="Split scored (the trained baseline fits on train)")
    ] = "test",
    seed: Annotated[int, typer.Option(help="Seed of the random baselines")] = 0,
) -> None:
    """Trivial and trained baselines on a release: {task: {baseline: {metric: value}}}."""
    from communitybench.evaluate.baselines import release_baselines
    from communitybench.evaluate.release import open_release

    with user_errors():
        table = release_baselines(
            open_release(release, get_settings().releases_dir), split=split, seed=seed
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1))
    typer.echo(json.dumps(table, indent=1))


if __name__ == "__main__":
    app()
