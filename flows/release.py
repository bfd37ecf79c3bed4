"""``publish_release``: splits, validation gates and the atomic export of a release."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from communitybench import stages
from communitybench.config import BuildConfig


@task(name="validate_and_export", cache_policy=NO_CACHE)
def validate_and_export(warehouse_path: Path, **kwargs) -> dict:
    """Assign splits, run the GX gates (raise on failure) and publish the release folder."""
    return stages.run_release(warehouse_path, **kwargs)


@flow(name="publish_release", log_prints=True)
def publish_release(
    config: BuildConfig,
    warehouse_path: Path,
    releases_dir: Path,
    build_dir: Path,
    version: str | None = None,
) -> dict:
    """Validate the warehouse and publish ``releases/<version>/`` (nothing on failure)."""
    return validate_and_export(
        warehouse_path,
        config=config,
        releases_dir=releases_dir,
        build_dir=build_dir,
        version=version,
    )
