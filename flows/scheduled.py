"""``scheduled_build_release``: the entry point a schedule (served or deployed) calls.

A deployment's parameters must be JSON, so this wrapper takes paths as strings, loads the build
config and the environment's paths itself, and runs ``build_release`` as a subflow.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from communitybench.config import default_config, load_config
from communitybench.settings import get_settings
from flows.build_release import build_release


@flow(name="scheduled_build_release", log_prints=True)
def scheduled_build_release(
    config_path: str | None = None,
    warehouse_path: str | None = None,
) -> dict:
    """Rebuild and publish a release from ``config_path`` (default: COMMUNITYBENCH_CONFIG)."""
    settings = get_settings()
    chosen = config_path or settings.config
    config = load_config(Path(chosen)) if chosen else default_config()
    summary = build_release(
        config=config,
        warehouse_path=Path(warehouse_path) if warehouse_path else settings.warehouse,
        releases_dir=settings.releases_dir,
        build_dir=settings.build_dir,
    )
    release = summary.release
    return {"config": summary.config, "version": release["version"], "path": release["path"]}
