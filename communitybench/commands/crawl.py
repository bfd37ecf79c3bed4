"""``communitybench crawl``: crawl Reddit through praw into the raw observation tables.

Registered in ``communitybench/cli.py`` with ``app.command("crawl")(crawl)``. Settings come from
the config's [reddit] section (``--config`` here or the global one); ``--subreddit`` and
``--limit`` override it. Credentials come only from the environment or praw.ini.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from communitybench.sources.reddit.client import CredentialsError
from communitybench.sources.reddit.crawl import CrawlAborted
from communitybench.sources.reddit.options import crawl_options, retry_policy
from communitybench.sources.reddit.report import crawl_footer, crawl_table
from communitybench.sources.reddit.session import run_crawl

err = Console(stderr=True)


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
    obj = ctx.obj
    if config is not None:
        obj = type(obj)(config, obj.warehouse_path)
    reddit = obj.config().reddit
    options = crawl_options(reddit, subreddits=subreddit, limit=limit)
    if not options.subreddits:
        err.print(
            "[red]error:[/red] no subreddits to crawl: list them in [reddit].subreddits of the "
            "config or pass --subreddit NAME"
        )
        raise typer.Exit(2)
    try:
        summary = run_crawl(obj.warehouse_path, options, retry_policy(reddit))
    except CredentialsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except CrawlAborted as exc:
        err.print(f"[red]crawl stopped:[/red] {exc}")
        raise typer.Exit(1) from None
    console = Console()
    console.print(crawl_table(summary))
    for line in crawl_footer(summary):
        console.print(line, highlight=False, soft_wrap=True)
