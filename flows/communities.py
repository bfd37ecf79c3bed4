"""``build_communities``: staging → texts → embeddings (cached) → members → communities.

Embedding runs as the subflow ``embed_texts`` on the task runner ``[runner]`` configures
(``communitybench/runner.py``): chunks of texts are ``encode_chunk`` tasks, on a local thread
or on Dask workers; this process writes each chunk's vectors as it arrives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from communitybench import communities as stage
from communitybench import embeddings
from communitybench.config import BuildConfig, RunnerConfig
from communitybench.runner import describe, make_task_runner, map_ordered, window_size


@task(name="build_texts")
def build_texts(warehouse_path: Path) -> dict:
    """Rebuild ``texts`` (cleaned for embedding) from kept staging rows."""
    return embeddings.run_texts(warehouse_path)


# no Prefect result cache or persisted results: the warehouse's embeddings table is the cache
# (model, revision, text hash); a result cache would skip the stage when staging gained texts
@task(name="encode_chunk", cache_policy=NO_CACHE, persist_result=False, retries=1)
def encode_chunk(texts: list[str], **encode) -> np.ndarray:
    """Vectors of one chunk of texts (runs where the task runner puts it)."""
    return embeddings.encode_chunk(texts, **encode)


@flow(name="embed_texts", log_prints=True)
def embed_texts(
    warehouse_path: Path, *, runner: RunnerConfig, progress: bool = False, **embed
) -> dict:
    """Embed texts that have no cached vector, chunk by chunk on this flow's task runner."""

    def on_runner(chunks, **encode):
        return map_ordered(encode_chunk, chunks, window=window_size(runner), **encode)

    summary = embeddings.run_embeddings(
        warehouse_path,
        **embed,
        progress=progress,
        encode_chunks=on_runner,
        chunk_texts=runner.embed_chunk,
    )
    return {**summary, "runner": describe(runner)}


def embed_on_runner(config: BuildConfig, warehouse_path: Path, *, progress: bool = False) -> dict:
    """Run ``embed_texts`` with the task runner ``config.runner`` asks for."""
    flow_ = embed_texts.with_options(task_runner=make_task_runner(config.runner))
    return flow_(
        warehouse_path, runner=config.runner, progress=progress, **stage.embed_kwargs(config)
    )


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
        "embeddings": embed_on_runner(config, warehouse_path, progress=progress),
        "members": build_members(warehouse_path, **stage.members_kwargs(config)),
        "communities": cluster_communities(warehouse_path, **stage.communities_kwargs(config)),
    }
    create_markdown_artifact(
        key="communities-report",
        markdown=stage.report_markdown(summary),
        description="communities per scope, sizes and noise share",
    )
    return summary
