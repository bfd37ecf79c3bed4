"""``run_stages``: stages by name, in pipeline order, as one Prefect flow.

This is the one way stages run: ``communitybench build-release``, every per-stage command
(``ingest``, ``staging``, ``communities``, ``tasks``, ``run``, ...) and the scheduled rebuild go
through it. Each stage is a Prefect task (``stage``) that calls ``communitybench.pipeline.execute``
and publishes its result as a markdown artifact; the flow's task runner comes from ``[runner]``,
so the stages that map parallel work (dump decoding, embedding) send it to Dask workers when
``kind = "dask"`` and keep it in this process otherwise.

With ``reuse_releases`` (``build-release``), the reusable stages are skipped when the build's
inputs fingerprint equals the latest release's: each reports what the warehouse carries over and
the release stage republishes the previous files under a new version.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from communitybench import pipeline
from communitybench.config import BuildConfig, UsageError
from communitybench.errors import CredentialsError
from communitybench.render import render_markdown
from communitybench.runner import make_task_runner
from communitybench.stage import StageResult
from warehouse import StageInputError


def _artifact(result: StageResult) -> None:
    key = "stage-" + re.sub(r"[^a-z0-9-]", "-", result.name.lower())
    create_markdown_artifact(
        key=key,
        markdown=render_markdown([result], reuse=False),  # the build's artifact has the table
        description=f"stage {result.name}",
    )


def worth_retrying(task, task_run, state) -> bool:
    """A stage's retries (network stages) are for outages, not for what a user must fix."""
    try:
        state.result()
    except (CredentialsError, StageInputError, FileNotFoundError, UsageError):
        return False
    except Exception:  # noqa: BLE001 - any other failure may be transient
        return True
    return True


# no Prefect result cache: the warehouse is the state (a cache would skip a stage whose inputs
# changed in the file); retries per stage come from its Stage (network stages)
@task(name="stage", cache_policy=NO_CACHE, persist_result=False)
def run_stage(name: str, config: BuildConfig, warehouse_path: Path, extras: dict) -> StageResult:
    """Run one stage on the warehouse (``communitybench.pipeline.execute``)."""
    result = pipeline.execute(pipeline.stage(name), config, warehouse_path, **extras)
    _artifact(result)
    return result


@task(name="carry_stage", cache_policy=NO_CACHE, persist_result=False)
def carry_stage(
    name: str, config: BuildConfig, warehouse_path: Path, previous: str, extras: dict
) -> StageResult:
    """A reusable stage the unchanged inputs let the build skip (the release is republished)."""
    result = pipeline.carry(
        pipeline.stage(name), config, warehouse_path, previous=previous, **extras
    )
    _artifact(result)
    return result


@task(name="check_reuse", cache_policy=NO_CACHE, persist_result=False)
def check_reuse(config: BuildConfig, warehouse_path: Path, extras: dict) -> dict:
    """Compare the build's inputs fingerprint with the latest release's."""
    return pipeline.reuse_decision(config, warehouse_path, **extras)


@flow(name="run_stages", log_prints=True)
def run_stages(
    config: BuildConfig,
    warehouse_path: Path,
    names: list[str] | None = None,
    extras: dict | None = None,
    reuse_releases: bool = False,
) -> tuple[list[StageResult], dict | None]:
    """The stages ``names`` (default: all that apply to the source) in pipeline order.

    Returns:
        The results in order, and the reuse decision (None when not asked for).
    """
    extras = extras or {}
    results, reuse = [], None
    for stage in pipeline.select(config, names):
        if reuse_releases and stage.reusable and reuse is None:
            reuse = check_reuse(config, warehouse_path, extras)
        if reuse and reuse["reusable"] and stage.reusable:
            carry = carry_stage.with_options(name=f"carry:{stage.name}")
            results.append(carry(stage.name, config, warehouse_path, reuse["previous"], extras))
        else:
            run = run_stage.with_options(
                name=stage.name,
                retries=stage.retries,
                retry_delay_seconds=stage.retry_delay(config) if stage.retry_delay else 0,
                retry_condition_fn=worth_retrying,
            )
            results.append(run(stage.name, config, warehouse_path, extras))
    return results, reuse


def run(
    config: BuildConfig,
    warehouse_path: Path,
    names: list[str] | None = None,
    *,
    reuse_releases: bool = False,
    **extras,
) -> tuple[list[StageResult], dict | None]:
    """``run_stages`` on the task runner ``[runner]`` asks for, after a check (before Prefect
    starts) that every selected stage's input tables exist or come from an earlier one."""
    pipeline.preflight(config, warehouse_path, names, **extras)
    flow_ = run_stages.with_options(task_runner=make_task_runner(config.runner))
    return flow_(config, Path(warehouse_path), names, extras, reuse_releases)
