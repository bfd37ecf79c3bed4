"""Stage ``release``: splits → validation gates → an atomic, versioned release folder.

Instances get deterministic splits (leakage gates: no thread in two splits, no near-duplicate
query across splits), community-blind baselines are scored on each test split (the shortcut
gate, ``communitybench/release/shortcuts.py``: one that beats chance by more than
``gates.max_shortcut_lift`` raises ``ShortcutGateFailed``), every warehouse table is
validated by the Great Expectations suite its schema file yields (a failure raises
``ValidationFailed`` naming the failing rows and publishes nothing), then
``releases/<version>/`` is written aside and renamed into place (``communitybench/release/``).
When nothing the release derives from changed since the latest release (``reuse_decision``),
the build republishes that release's files instead (``republish``) and skips every reusable
stage.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemas
import warehouse
from communitybench.config import BuildConfig, EmbedConfig, GatesConfig, SplitsConfig
from communitybench.release import export, incremental, shortcuts, validation
from communitybench.release.splits import assign_instance_splits
from communitybench.release.validation import VALIDATION_VERSION
from communitybench.release.versions import RELEASE_VERSION, next_version, utc_now
from communitybench.sources.stackexchange.ingest import SE_INGEST_VERSION
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms.baselines import BASELINES_VERSION
from transforms.exposure import EXPOSURE_VERSION
from transforms.metrics import METRICS_VERSION
from transforms.shortcuts import SHORTCUTS_VERSION
from transforms.splits import SPLITS_VERSION

# the manifest's stage_versions: every stage (name → version) plus the release's own parts
SUB_VERSIONS = {
    "splits": SPLITS_VERSION,
    "validation": VALIDATION_VERSION,
    "shortcut_audit": SHORTCUTS_VERSION,
    "baselines": BASELINES_VERSION,
    "metrics": METRICS_VERSION,  # how baselines.json is scored
    "exposure": EXPOSURE_VERSION,  # the labels stage's exposure model
    "stackexchange_ingest": SE_INGEST_VERSION,
}


class Params(StageParams):
    build_config: BuildConfig  # recorded whole in the manifest (and its hash)
    splits: SplitsConfig
    embed: EmbedConfig
    gates: GatesConfig
    releases_dir: Path
    build_dir: Path
    version: str | None = None  # default: the UTC date, then -2, -3 for later builds that day
    stage_versions: dict[str, str]  # every stage's version (communitybench.pipeline.versions)
    takedowns: Path | None = None

    @classmethod
    def from_config(cls, config: BuildConfig, **extras) -> Params:
        listed = config.clean.takedowns
        derived = {"build_config": config, "takedowns": config.resolve(listed) if listed else None}
        return super().from_config(config, **{**derived, **extras})


def fingerprint(con, params: Params) -> str:
    """The input fingerprint of this build (config, code versions, takedowns, raw data)."""
    code = {"versions": params.stage_versions, "revision": export.code_revision()}
    return incremental.input_fingerprint(
        con, config=params.build_config, code=code, takedowns=params.takedowns
    )


def reuse_decision(con, params: Params) -> dict:
    """Whether the latest release was built from exactly these inputs (then republish it)."""
    current = fingerprint(con, params)
    latest = incremental.latest_release(params.releases_dir)
    previous = latest[0] if latest else None
    same = latest is not None and latest[1].get("input_fingerprint") == current
    return {"fingerprint": current, "previous": previous, "reusable": same}


def check(params: Params, selected: frozenset[str]) -> None:
    """A requested version that is published already stops the run before any stage starts."""
    if params.version:
        next_version(params.releases_dir, today=utc_now(), requested=params.version)


def run(con, params: Params) -> StageResult:
    """Assign splits, run the gates (raise on failure), publish ``releases/<version>``."""
    now = utc_now()
    name = next_version(params.releases_dir, today=now, requested=params.version)
    current = fingerprint(con, params)
    warehouse.ensure_tables(con, layer="marts")
    gates = assign_instance_splits(con, params.splits, params.embed)
    audit = shortcuts.audit_shortcuts(
        con, embed=params.embed, max_lift=params.gates.max_shortcut_lift
    )
    shortcuts.check_shortcut_gate(audit)
    tables = [t.name for t in _tables_in(con)]
    docs = Path(params.build_dir) / name / "data_docs"
    summary = validation.validate_tables(con, tables, docs_dir=docs)
    if not summary.success:
        raise validation.ValidationFailed(summary)
    models = {
        "embedding": {"model": params.embed.model, "revision": params.embed.revision},
        "llm": _llm_models(con),
    }
    path = export.write_release(
        con,
        releases_dir=params.releases_dir,
        version=name,
        config=params.build_config,
        validation=summary.to_dict(),
        gates=gates,
        models=models,
        created_at=now.isoformat(timespec="seconds"),
        stage_versions={**params.stage_versions, **SUB_VERSIONS},
        input_fingerprint=current,
        shortcut_audit=audit,
    )
    return _result(name, path, summary.to_dict(), gates, reused_from=None)


def republish(params: Params, *, previous: str) -> StageResult:
    """No input changed: publish a new version that reuses every file of ``previous``."""
    now = utc_now()
    name = next_version(params.releases_dir, today=now, requested=params.version)
    path = incremental.republish(
        params.releases_dir,
        previous=previous,
        version=name,
        created_at=now.isoformat(timespec="seconds"),
    )
    manifest = json.loads((path / "manifest.json").read_text())
    return _result(
        name, path, manifest["validation"], manifest["split_gates"], reused_from=previous
    )


def _result(name: str, path: Path, checks: dict, gates: dict, *, reused_from) -> StageResult:
    if reused_from:
        work = Work("releases", reused=1, note=f"{name}: files republished from {reused_from}")
        line = f"release {path} (nothing changed since {reused_from}: its files republished)"
    else:
        work = Work("releases", computed=1, note=f"{name}: built and validated")
        line = f"release {path} (validation passed; Data Docs in {checks['docs_dir']})"
    passed = sum(t["checks"] for t in checks["tables"].values())
    per_split: dict[str, dict[str, int]] = {}
    for key, n in gates["counts"].items():  # "pi/train": n
        task, split = key.split("/")
        per_split.setdefault(task, {})[split] = n
    splits = ("train", "dev", "test")
    table = Table(
        "instances per task and split",
        ("task", *splits),
        tuple((task, *(counts.get(s, 0) for s in splits)) for task, counts in per_split.items()),
    )
    return StageResult(
        name="release",
        version=RELEASE_VERSION,
        work=(work,),
        notes=(line, f"validation: {len(checks['tables'])} tables, {passed} checks passed"),
        tables=(table,),
        details={
            "version": name,
            "path": str(path),
            "validation": checks,
            "gates": gates,
            "reused_from": reused_from,
        },
    )


def _tables_in(con) -> list:
    """The contracts of every table the warehouse has (the ones the gates check)."""
    return [s for s in schemas.all_schemas() if warehouse.table_exists(con, s.name)]


def _llm_models(con) -> list[str]:
    if not warehouse.table_exists(con, "profiles"):
        return []
    return [model for (model,) in export.export_rows(con, "llm_models")]


STAGE = Stage(
    name="release",
    version=RELEASE_VERSION,
    params=Params,
    run=run,
    doc="splits, validation gates, and an atomic versioned release folder",
    # the shortcut audit reads the options' posting times, exposure and embeddings too
    inputs=(
        "task_pi",
        "task_dp",
        "task_ccg",
        "task_ci",
        "option_sets",
        "stg_comments",
        "texts",
        "embeddings",
    ),
    outputs=("instance_splits", "shortcut_audit"),
    reusable=True,
    carry=lambda params, previous: republish(params, previous=previous),
    check=check,
)
