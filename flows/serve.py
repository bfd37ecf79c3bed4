"""Scheduled rebuilds: the deployment ``communitybench serve`` registers, and its serve loop.

A schedule needs a real Prefect server: the temporary server a plain flow run starts cannot
schedule (../shared/ENVIRONMENT.md). Start one bound to loopback (``make serve`` does it) and
point ``PREFECT_API_URL`` at it.

Overlap: the deployment carries a Prefect **deployment concurrency limit of 1**, enforced by the
server when a run asks to start (Scheduled → Pending). What happens to a run that finds the slot
taken is the collision strategy: ``cancel`` (CANCEL_NEW, the default) moves it to Cancelled;
``wait`` (ENQUEUE) sends it back to Scheduled, named AwaitingConcurrencySlot, and it retries
every PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS (30 s) until the running one ends.
"""

from __future__ import annotations

import httpx
from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron
from pydantic import ValidationError

DEPLOYMENT_NAME = "scheduled"
DEFAULT_CRON = "0 3 * * 1"  # Mondays 03:00
DEFAULT_API_URL = "http://127.0.0.1:4200/api"
OVERLAP = {
    "cancel": ConcurrencyLimitStrategy.CANCEL_NEW,
    "wait": ConcurrencyLimitStrategy.ENQUEUE,
}


class ServeError(RuntimeError):
    """A schedule that cannot start, with what to do about it."""


def cron_schedule(cron: str, timezone: str = "UTC"):
    """A Prefect cron schedule, or ServeError naming the bad expression or time zone."""
    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as exc:
        problem = "; ".join(error["msg"] for error in exc.errors())
        raise ServeError(
            f"invalid schedule --cron {cron!r} --timezone {timezone!r}: {problem}. "
            "Use five cron fields, e.g. '0 3 * * 1' (Mondays 03:00), and an IANA zone name."
        ) from None
    return Cron(cron, timezone=timezone)


def concurrency(overlap: str) -> ConcurrencyLimitConfig:
    """At most one run at a time; ``overlap`` says what happens to the extra one."""
    if overlap not in OVERLAP:
        raise ServeError(f"unknown overlap policy {overlap!r}: choose one of {sorted(OVERLAP)}")
    return ConcurrencyLimitConfig(limit=1, collision_strategy=OVERLAP[overlap])


def build_deployment(
    flow: Flow,
    *,
    cron: str = DEFAULT_CRON,
    timezone: str = "UTC",
    overlap: str = "cancel",
    name: str = DEPLOYMENT_NAME,
    parameters: dict | None = None,
) -> RunnerDeployment:
    """The deployment of ``flow`` on a cron schedule with a concurrency limit of 1.

    Args:
        flow: any importable flow (the real one is ``scheduled_build_release``; tests pass a
            cheap stand-in under the same settings).
        cron: five-field cron expression.
        timezone: IANA zone the cron expression is read in.
        overlap: ``cancel`` or ``wait`` (see the module docstring).
        name: deployment name; the full name is ``<flow name>/<name>``.
        parameters: JSON default parameters for every scheduled run.
    """
    return flow.to_deployment(
        name=name,
        schedules=[cron_schedule(cron, timezone)],
        concurrency_limit=concurrency(overlap),
        parameters=parameters or {},
        tags=["communitybench", "scheduled"],
        # a module path works from any working directory (the project is installed editable)
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def check_server(api_url: str, timeout: float = 5.0) -> None:
    """Raise ServeError unless a Prefect server answers at ``api_url``."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ServeError(
            f"no Prefect server answers at {api_url} ({type(exc).__name__}). Schedules need a "
            "real server: run `make serve`, or start one with `prefect server start --host "
            "127.0.0.1` and set PREFECT_API_URL=http://127.0.0.1:4200/api."
        ) from None


def serve_deployment(deployment: RunnerDeployment, api_url: str, log_level: str = "INFO") -> None:
    """Register ``deployment`` on the server at ``api_url`` and run its runs until stopped.

    Blocks; SIGINT/SIGTERM stop it and pause the schedule (serving again resumes it). Each run
    executes in a child process with PREFECT_LOGGING_LEVEL=``log_level`` (the project's
    interactive default is WARNING), so its log lines reach the server and this process's output.
    """
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_LEVEL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_LOGGING_LEVEL: log_level}):
        serve(deployment)
