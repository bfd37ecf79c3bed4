"""Assemble a release folder: splits, statistics, plots, card, manifest; then publish atomically."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from communitybench.env import PROJECT_ROOT
from communitybench.release import plots
from communitybench.release.versions import (
    RELEASE_VERSION,
    TASK_TABLES,
    export_splits,
    previous_release,
    publish,
    sha256_file,
    staging_dir,
)
from transforms.card import release_diff, render_card

VERSIONED_MODULES = (
    "communitybench.sources.dumps.ingest",
    "communitybench.sources.reddit.store",
    "communitybench.sources.demo.forum",
    "communitybench.stages",
    "communitybench.release.versions",
    "communitybench.release.validation",
    "transforms.embed_text",
    "transforms.members",
    "transforms.communities",
    "transforms.profiles",
    "transforms.labels",
    "transforms.tasks",
    "transforms.splits",
    "warehouse.views",
)


def stage_versions() -> dict[str, str]:
    """Every ``*_VERSION`` constant of the stage modules (recorded in the manifest)."""
    out = {}
    for name in VERSIONED_MODULES:  # a renamed module must fail here, not vanish silently
        module = importlib.import_module(name)
        out.update(
            {k: v for k, v in vars(module).items() if k.endswith("_VERSION") and isinstance(v, str)}
        )
    return dict(sorted(out.items()))


def code_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def _has(con, table: str) -> bool:
    q = "select count(*) from information_schema.tables where table_name = ?"
    return con.execute(q, [table]).fetchall()[0][0] > 0


def collect_stats(con) -> dict:
    """Communities, sizes, noise share, drop counts per reason, profile methods."""
    stats: dict = {"drop_reasons": {}}
    for table in ("stg_submissions", "stg_comments"):
        if _has(con, table):
            stats["drop_reasons"][table] = dict(
                con.execute(
                    f"select drop_reason, count(*) from {table} where drop_reason is not null "
                    "group by 1 order by 2 desc"
                ).fetchall()
            )
    if _has(con, "communities"):
        sizes = [r[0] for r in con.execute("select size from communities order by 1").fetchall()]
        stats.update(
            communities=len(sizes),
            community_size_min=min(sizes, default=0),
            community_size_max=max(sizes, default=0),
            community_size_median=float(np.median(sizes)) if sizes else 0,
        )
    if _has(con, "memberships"):
        total, noise = con.execute(
            "select count(*), count(*) filter (where community_id is null) from memberships"
        ).fetchone()
        stats.update(members=total, noise_share=noise / total if total else 0.0)
    if _has(con, "profiles"):
        stats["profile_methods"] = dict(
            con.execute("select profile_method, count(*) from profiles group by 1").fetchall()
        )
    return stats


def write_plots(con, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if _has(con, "members") and _has(con, "memberships"):
        rows = con.execute(
            "select m.vector, s.community_id from members m join memberships s "
            "using (member_id, scope) order by m.member_id"
        ).fetchall()
    vectors = np.array([r[0] for r in rows], dtype=np.float32) if rows else np.zeros((0, 2))
    plots.members_map(vectors, [r[1] for r in rows], out / "members_map.png")
    sizes = (
        [r[0] for r in con.execute("select size from communities").fetchall()]
        if _has(con, "communities")
        else []
    )
    plots.community_sizes(sizes, out / "community_sizes.png")
    dists = [r[0] for r in con.execute("select distribution from task_dp").fetchall()]
    plots.option_distributions(dists, out / "option_distributions.png")


def current_ids(con) -> dict:
    communities = [
        r[0]
        for r in con.execute(
            "select distinct community_id from instance_splits order by 1"
        ).fetchall()
    ]
    instances = [
        f"{t}:{i}"
        for t, i in con.execute(
            "select task, instance_id from instance_splits order by 1, 2"
        ).fetchall()
    ]
    items = [
        r[0]
        for r in con.execute(
            "select distinct unnest(list_value(query_id) || option_ids) from task_dp union "
            "select distinct unnest(list_value(query_id) || option_ids) from task_pi union "
            "select distinct unnest(list_value(query_id) || option_ids || reference_ids) "
            "from task_ccg union select distinct unnest(list_value(query_id) || option_ids) "
            "from task_ci order by 1"
        ).fetchall()
    ]
    return {"communities": communities, "instances": instances, "items": items}


def removed_since(con, previous_items: list[str]) -> int:
    """Items used by the previous release that are now deleted, removed or taken down."""
    if not previous_items:
        return 0
    return con.execute(
        """with gone as (
               select 't1_' || id as item from stg_comments
               where drop_reason in ('deleted', 'removed', 'takedown')
               union all
               select 't3_' || id from stg_submissions
               where drop_reason in ('deleted', 'removed', 'takedown'))
           select count(*) from gone where item in (select unnest(?::varchar[]))""",
        [previous_items],
    ).fetchone()[0]


def sources(con) -> dict:
    out = {}
    if _has(con, "ingest_files"):
        out["dump_files"] = [
            dict(zip(("file", "file_key", "lines", "completed"), r, strict=True))
            for r in con.execute(
                "select source_file, file_key, lines_done, completed from ingest_files order by 1"
            ).fetchall()
        ]
    if _has(con, "stg_comments"):
        lo, hi = con.execute(
            "select min(created_utc), max(created_utc) from stg_comments where drop_reason is null"
        ).fetchone()
        out["comments_created"] = [str(lo), str(hi)]
    return out


def write_release(
    con,
    *,
    releases_dir: Path,
    version: str,
    config,
    validation: dict,
    gates: dict,
    models: dict,
    created_at: str,
    progress: bool = True,
    input_fingerprint: str | None = None,
) -> Path:
    """Build ``releases/<version>/`` in a temporary folder and publish it atomically."""
    releases_dir = Path(releases_dir)
    final = releases_dir / version
    tmp = staging_dir(releases_dir, version)
    try:
        counts = export_splits(con, tmp, progress=progress)
        write_plots(con, tmp / "plots")
        stats = collect_stats(con)
        ids = current_ids(con)
        previous = previous_release(releases_dir)
        diff = release_diff(previous, ids)
        if previous is not None:
            diff["removed_items"] = removed_since(con, previous.get("items", []))
        (tmp / "ids.json").write_text(json.dumps(ids))
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1, default=str))
        manifest = {
            "version": version,
            "created_at": created_at,
            "release_version": RELEASE_VERSION,
            "config": config.model_dump(mode="json", exclude={"path"}),
            "config_hash": config.config_hash(),
            "code_revision": code_revision(),
            "models": models,
            "sources": sources(con),
            "row_counts": counts,
            "split_gates": gates,
            "validation": validation,
            "stage_versions": stage_versions(),
            "diff": diff,
            "input_fingerprint": input_fingerprint,
        }
        card = render_card(
            version=version,
            splits=counts,
            stats=stats,
            diff=diff,
            validation=validation,
            manifest_summary={
                k: manifest[k] for k in ("config_hash", "code_revision", "created_at")
            }
            | {"models": models},
        )
        (tmp / "README.md").write_text(card)
        manifest["files"] = {
            str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        publish(tmp, final, releases_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


__all__ = ["write_release", "TASK_TABLES"]
