"""``build_communities``: staging → texts → embeddings (cached) → members → communities."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from communitybench import communities as stage
from communitybench import embeddings
from communitybench.config import BuildConfig


@task(name="build_texts")
def build_texts(warehouse_path: Path) -> dict:
    """Rebuild ``texts`` (cleaned for embedding) from kept staging rows."""
    return embeddings.run_texts(warehouse_path)


# no Prefect result cache or retries: the warehouse's embeddings table is the cache (model,
# revision, text hash), and a result cache would skip the stage when staging gained new texts
@task(name="embed_texts")
def embed_texts(warehouse_path: Path, **kwargs) -> dict:
    """Embed texts that have no cached vector for the configured model revision."""
    return embeddings.run_embeddings(warehouse_path, **kwargs)


@task(name="build_members")
def build_members(warehouse_path: Path, **kwargs) -> dict:
    """Rebuild ``members``: keyed pseudonyms and mean text vectors."""
    return stage.run_members(warehouse_path, **kwargs)


@task(name="cluster_communities")
def cluster_communities(warehouse_path: Path, **kwargs) -> dict:
    """HDBSCAN per scope, ids matched to the previous build, marts rewritten."""
    return stage.run_communities(warehouse_path, **kwargs)


@flow(name="build_communities", log_prints=True)
def build_communities(config: BuildConfig, warehouse_path: Path, progress: bool = False) -> dict:
    """Members and communities from the staging tables; returns the stage summaries."""
    summary = {
        "texts": build_texts(warehouse_path),
        "embeddings": embed_texts(warehouse_path, **stage.embed_kwargs(config), progress=progress),
        "members": build_members(warehouse_path, **stage.members_kwargs(config)),
        "communities": cluster_communities(warehouse_path, **stage.communities_kwargs(config)),
    }
    create_markdown_artifact(
        key="communities-report",
        markdown=stage.report_markdown(summary),
        description="communities per scope, sizes and noise share",
    )
    return summary
