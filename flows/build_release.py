"""``build_release``: the whole pipeline as one Prefect flow (stages are added as they land)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from communitybench.config import BuildConfig
from communitybench.report import summary_markdown
from flows.ingest import ingest


@flow(name="build_release", log_prints=True)
def build_release(config: BuildConfig, warehouse_path: Path) -> dict:
    """Source → raw → staging (→ communities → tasks → validate → export as they land)."""
    summary = {"config": config.name, "config_hash": config.config_hash()}
    summary.update(ingest(config, warehouse_path))
    create_markdown_artifact(
        key="build-release-summary",
        markdown=summary_markdown(summary),
        description="build_release summary",
    )
    return summary
