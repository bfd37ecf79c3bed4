"""``build_release``: every stage of the pipeline as one Prefect flow, then a published release.

source → raw → staging → texts → embeddings → members → communities → labels → profiles →
tasks → release (splits, validation gates, atomic export) → analyst views, all through
``run_stages`` (flows/pipeline.py). A failed gate raises: nothing is published. When the inputs
fingerprint (config, stage versions, code revision, takedowns, raw observations) equals the
latest release's, the reusable stages are skipped and the previous release's files are
republished under the new version. ``stage_reuse`` logs what every stage computed and reused.

Every stage writes ``<warehouse>.building``, a copy of the live file (``warehouse/swap.py``);
only a build that published its release is swapped in, so read-only SQL sessions on the live
file (``make sql``) keep working for the whole build, and a failed build leaves it untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from communitybench import pipeline
from communitybench.config import BuildConfig
from communitybench.release.versions import utc_now
from communitybench.render import render_markdown
from communitybench.runner import make_task_runner
from communitybench.stage import StageResult, by_name
from flows.pipeline import run_stages
from warehouse import swap


@dataclass(frozen=True)
class BuildSummary:
    """What a build did: every stage's result, the reuse decision and the ``stage_reuse`` rows."""

    config: str
    config_hash: str
    started_at: str
    warehouse: str
    results: tuple[StageResult, ...]
    reuse: dict | None
    stage_reuse: list[dict] = field(default_factory=list)

    def result(self, name: str) -> StageResult:
        """The result of stage ``name`` (KeyError naming the stages that ran)."""
        found = by_name(self.results)
        if name not in found:
            raise KeyError(f"stage {name!r} did not run in this build (ran: {list(found)})")
        return found[name]

    @property
    def release(self) -> dict:
        """The release stage's details: version, path, validation, gates, reused_from."""
        return dict(self.result("release").details)


@flow(name="build_release", log_prints=True)
def build_release(
    config: BuildConfig,
    warehouse_path: Path,
    releases_dir: Path,
    build_dir: Path,
    version: str | None = None,
) -> BuildSummary:
    """Build every stage from the configured source and publish a validated release."""
    started = utc_now()
    extras = {"releases_dir": Path(releases_dir), "build_dir": Path(build_dir), "version": version}
    with swap.rebuild(warehouse_path) as building:
        stages = run_stages.with_options(task_runner=make_task_runner(config.runner))
        results, reuse = stages(config, building, None, extras, True)
        release = by_name(results)["release"].details
        rows = pipeline.record_reuse(
            building, results, build_id=release["version"], started_at=started
        )
    summary = BuildSummary(
        config=config.name,
        config_hash=config.config_hash(),
        started_at=started.isoformat(),
        warehouse=str(warehouse_path),
        results=tuple(results),
        reuse=reuse,
        stage_reuse=rows,
    )
    create_markdown_artifact(
        key="build-release-summary",
        markdown=render_markdown(
            results, title=f"build {release['version']} — config {config.name}"
        ),
        description="build_release summary",
    )
    return summary
