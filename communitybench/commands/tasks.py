"""``communitybench tasks``: rebuild ownership, options, distributions, profiles and task tables.

Registered in ``communitybench/cli.py`` with ``app.command("tasks")(tasks)``. Needs the
communities stage's tables in the warehouse. Profiles are LLM-written when
COMMUNITYBENCH_LLM_BASE_URL and COMMUNITYBENCH_LLM_MODEL are set (answers cached in the
warehouse), extractive otherwise.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from communitybench import tasks as stage
from communitybench.settings import get_settings

err = Console(stderr=True)


def tasks(ctx: typer.Context) -> None:
    """Build thread ownership, option sets, distributions, profiles and the PI/DP/CCG/CI tables."""
    from flows.tasks import labels_kwargs, profiles_kwargs, tasks_kwargs

    obj = ctx.obj
    config = obj.config()
    try:
        labels = stage.run_labels(obj.warehouse_path, **labels_kwargs(config))
        profiles = stage.run_profiles(
            obj.warehouse_path, progress=True, **profiles_kwargs(config, get_settings())
        )
        built = stage.run_task_tables(obj.warehouse_path, **tasks_kwargs(config))
    except (RuntimeError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console = Console()
    console.print(
        f"owned threads: {labels['owned_threads']:,} of {labels['threads_with_members']:,}; "
        f"option sets: {labels['option_sets']:,}; estimators: {labels['estimators']}"
    )
    console.print(profiles_line(profiles))
    console.print(instances_table(built))


def profiles_line(summary: dict) -> str:
    """One line on how the profiles were made (and why not by an LLM)."""
    line = f"profiles: {summary['communities']} ({summary['profile_method']})"
    if summary["fallback_reasons"]:
        line += " — extractive because: " + "; ".join(summary["fallback_reasons"])
    llm = summary.get("llm")
    if llm:
        line += (
            f"\nllm {llm['model']}: {llm['cache_hits']} cached, {llm['requests']} requests, "
            f"{llm['failures']} failed, {llm['prompt_tokens']}+{llm['completion_tokens']} tokens"
        )
    return line


def instances_table(summary: dict) -> Table:
    """Instances per community and task, with a total row."""
    table = Table(title=f"task instances ({summary['version']})")
    table.add_column("community")
    for task in ("pi", "dp", "ccg", "ci"):
        table.add_column(task.upper(), justify="right")
    for community, counts in summary["per_community"].items():
        table.add_row(community, *(f"{n:,}" for n in counts.values()))
    table.add_row("[b]total[/b]", *(f"{n:,}" for n in summary["per_task"].values()))
    return table
