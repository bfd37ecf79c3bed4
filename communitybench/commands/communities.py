"""``communitybench communities``: embed kept texts (cached), build members, cluster communities.

Registered in ``communitybench/cli.py`` with ``app.command("communities")(communities)``. Needs
the staging tables (``communitybench ingest``). Runs the stages directly (no Prefect server)
with ``[runner] kind = "local"``; with ``kind = "dask"`` it runs the ``build_communities`` flow,
whose embedding subflow submits its chunks to Dask (``communitybench/runner.py``).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from communitybench import communities as stage
from warehouse import StageInputError

err = Console(stderr=True)


def communities(ctx: typer.Context) -> None:
    """Embed kept texts (cached), build member vectors and cluster them into communities."""
    obj = ctx.obj
    config = obj.config()
    if not obj.warehouse_path.exists():
        err.print(
            f"[red]error:[/red] warehouse {obj.warehouse_path} does not exist yet: run "
            "`communitybench ingest` (or `build-release`) first"
        )
        raise typer.Exit(2)
    try:
        if config.runner.kind == "dask":
            from flows.communities import build_communities

            summary = build_communities(config, obj.warehouse_path, progress=True)
        else:
            summary = stage.build_all(obj.warehouse_path, config, progress=True)
    except (StageInputError, RuntimeError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console = Console()
    console.print(embedding_line(summary["embeddings"]))
    console.print(communities_table(summary["communities"]))


def embedding_line(summary: dict) -> str:
    """Cache hits and throughput of the embed stage."""
    line = (
        f"embeddings ({summary['model']} @ {summary['revision']}, "
        f"{summary['device'] or 'model not loaded'}): "
        f"{summary['texts']:,} texts, {summary['cached']:,} cached, "
        f"{summary['computed']:,} computed in {summary['seconds']:.1f} s"
    )
    if summary["texts_per_s"]:
        line += f" ({summary['texts_per_s']:,.0f} texts/s)"
    if summary.get("runner"):
        line += f" on {summary['runner']}"
    return line


def communities_table(summary: dict) -> Table:
    """Communities per scope, sizes and noise share, with a total row."""
    lineage = ", ".join(f"{k} {v}" for k, v in summary["lineage"].items()) or "none"
    table = Table(
        title=f"communities ({summary['version']}, {summary['backend']}; ids: {lineage})",
        show_footer=True,
    )
    table.add_column("scope", footer="total")
    table.add_column("members", justify="right", footer=f"{summary['members']:,}")
    table.add_column("communities", justify="right", footer=str(summary["communities"]))
    table.add_column("sizes")
    table.add_column("noise share", justify="right", footer=f"{summary['noise_share']:.1%}")
    for s in summary["scopes"]:
        sizes = ", ".join(map(str, s["sizes"][:12])) + (" …" if len(s["sizes"]) > 12 else "")
        table.add_row(
            s["scope"],
            f"{s['members']:,}",
            str(s["communities"]),
            sizes or "-",
            f"{s['noise_share']:.1%}",
        )
    return table
