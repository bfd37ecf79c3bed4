"""``communitybench serve``: rebuild and publish a release on a cron schedule.

Registered in ``communitybench/cli.py`` with ``app.command("serve")(serve)``. Needs a Prefect
server bound to loopback (``make serve`` starts one); see ``communitybench/serve.py``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from communitybench import serve as scheduling

err = Console(stderr=True)


def serve(
    ctx: typer.Context,
    cron: Annotated[
        str, typer.Option(help="Cron expression for rebuilds (five fields; default Mondays 03:00)")
    ] = scheduling.DEFAULT_CRON,
    timezone: Annotated[str, typer.Option(help="IANA time zone the cron is read in")] = "UTC",
    overlap: Annotated[
        str,
        typer.Option(
            help="A run that starts while another rebuild runs (concurrency limit 1): 'cancel' "
            "→ Cancelled; 'wait' → AwaitingConcurrencySlot, retried every 30 s until free",
        ),
    ] = "cancel",
    api_url: Annotated[
        str, typer.Option(envvar="PREFECT_API_URL", help="Prefect server API (loopback)")
    ] = scheduling.DEFAULT_API_URL,
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
    from flows.scheduled import scheduled_build_release

    obj = ctx.obj
    obj.config()  # a bad config stops here, not at 03:00 on Monday
    parameters = {
        "config_path": str(obj.config_path.resolve()),
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
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    err.print(
        f"serving scheduled_build_release/{deployment.name}: cron {cron!r} ({timezone}), "
        f"at most one run at a time (overlap: {overlap}); server {api_url}"
    )
    scheduling.serve_deployment(deployment, api_url, log_level=log_level.upper())
