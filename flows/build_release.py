"""``build_release``: the whole pipeline as one Prefect flow.

source → raw → staging → embeddings/members/communities → profiles/labels/tasks →
splits + validation gates → atomic release → analyst views → swap. A failed gate raises:
nothing is published. When the input fingerprint (config, code versions, takedowns, raw
observations) equals the latest release's, every stage is reused and the previous release's
files are republished under the new version (``communitybench/incremental.py``). Otherwise each
stage reuses what it can (cached vectors, unchanged scopes, cached LLM answers), and the rows of
``stage_reuse`` (``communitybench/reuse.py``) record what each stage reused and computed.

Every stage writes ``<warehouse>.building``, a copy of the live file (``warehouse/swap.py``);
only a build that published its release is swapped in, so read-only SQL sessions on the live
file (``make sql``) keep working for the whole build, and a failed build leaves it untouched.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from communitybench import reuse, stages
from communitybench.config import BuildConfig
from communitybench.release.versions import utc_now
from communitybench.report import summary_markdown
from flows.communities import build_communities
from flows.ingest import ingest
from flows.release import publish_release
from flows.tasks import build_tasks
from warehouse import swap, views


@task(name="create_analyst_views")
def create_analyst_views(warehouse_path: Path) -> dict:
    """Create the documented v_* views whose source tables exist."""
    return views.run_views(warehouse_path)


@task(name="check_reuse", cache_policy=NO_CACHE)
def check_reuse(warehouse_path: Path, *, config: BuildConfig, releases_dir: Path) -> dict:
    """Compare the input fingerprint with the latest release's: equal = reuse everything."""
    return stages.run_reuse_check(warehouse_path, config=config, releases_dir=releases_dir)


@task(name="republish_release", cache_policy=NO_CACHE)
def republish_release(releases_dir: Path, *, previous: str, version: str | None) -> dict:
    """No input changed: publish a new version with the previous release's files."""
    return stages.run_republish(releases_dir, previous=previous, version=version)


@task(name="record_stage_reuse", cache_policy=NO_CACHE)
def record_stage_reuse(warehouse_path: Path, summary: dict) -> list[dict]:
    """Append what each stage reused and computed to ``stage_reuse``; return the rows."""
    return reuse.record_stage_reuse(warehouse_path, summary)


@flow(name="build_release", log_prints=True)
def build_release(
    config: BuildConfig,
    warehouse_path: Path,
    releases_dir: Path,
    build_dir: Path,
    version: str | None = None,
) -> dict:
    """Build every stage from the configured source and publish a validated release."""
    summary = {
        "config": config.name,
        "config_hash": config.config_hash(),
        "started_at": utc_now().isoformat(),
    }
    with swap.rebuild(warehouse_path) as building:
        summary.update(ingest(config, building))
        summary["reuse"] = check_reuse(building, config=config, releases_dir=releases_dir)
        if summary["reuse"]["reusable"]:
            summary["release"] = republish_release(
                releases_dir, previous=summary["reuse"]["previous"], version=version
            )
        else:
            summary["communities"] = build_communities(config, building)
            summary["tasks"] = build_tasks(config, building)
            summary["release"] = publish_release(
                config, building, releases_dir=releases_dir, build_dir=build_dir, version=version
            )
        summary["views"] = create_analyst_views(building)
        summary["stage_reuse"] = record_stage_reuse(building, summary)
    summary["warehouse"] = str(warehouse_path)
    create_markdown_artifact(
        key="build-release-summary",
        markdown=summary_markdown(summary),
        description="build_release summary",
    )
    return summary
