"""Assemble a release folder: splits, statistics, plots, card, manifest; then publish atomically.

What is exported is SQL in ``warehouse/exports/`` (a task split, the items a release uses, the
items removed since the previous one, the members map); this module writes the files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from tqdm import tqdm

import warehouse
from communitybench import __version__
from communitybench.evaluate.baselines import release_baselines
from communitybench.evaluate.harness import write_eval_files
from communitybench.evaluate.release import Release
from communitybench.release.versions import (
    RELEASE_VERSION,
    TASK_TABLES,
    previous_release,
    publish,
    sha256_file,
    staging_dir,
)
from transforms.card import release_diff, render_card
from transforms.splits import SPLIT_NAMES
from transforms.vectors import vectors_from_arrow

PACKAGE_DIR = Path(__file__).resolve().parents[2]


def code_revision() -> str:
    """The git revision of a source checkout (``-dirty`` with local changes), else the version."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PACKAGE_DIR,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"communitybench {__version__} (installed, no git checkout)"
    return rev + ("-dirty" if dirty else "")


def export_splits(con, out: Path) -> dict[str, dict[str, int]]:
    """Write ``<task>/<split>.parquet`` and ``.jsonl`` for every task and split."""
    select = warehouse.sql_file("exports/export_split.sql")
    counts: dict[str, dict[str, int]] = {}
    jobs = [(t, s) for t in TASK_TABLES for s in SPLIT_NAMES]
    for task, split in tqdm(jobs, desc="export"):
        (out / task).mkdir(parents=True, exist_ok=True)
        warehouse.set_variables(
            con, {"export_table": TASK_TABLES[task], "export_task": task, "export_split": split}
        )
        written = set()
        for fmt, suffix in (("parquet", "parquet"), ("json", "jsonl")):
            target = str(out / task / f"{split}.{suffix}").replace("'", "''")
            # COPY returns the rows it wrote: no third scan to count them
            written.add(
                con.execute(f"copy ({select}) to '{target}' (format {fmt})").fetchall()[0][0]
            )
        if len(written) != 1:
            raise RuntimeError(f"{task}/{split}: parquet and jsonl rows differ ({sorted(written)})")
        counts.setdefault(task, {})[split] = written.pop()
    return counts


def export_rows(con, name: str, params: dict | None = None) -> list[tuple]:
    """The rows of the export query ``warehouse/exports/<name>.sql``."""
    return con.sql(warehouse.sql_file(f"exports/{name}.sql"), params=params).fetchall()


LEVEL_COLUMNS = ("level", "found", "published", "median_size", "median_stability", "coverage")


def collect_stats(con) -> dict:
    """Communities, sizes, noise share, drop counts per reason, profile methods."""
    stats: dict = {"drop_reasons": {}}
    if all(warehouse.table_exists(con, t) for t in ("stg_submissions", "stg_comments")):
        drops: dict = {"stg_submissions": {}, "stg_comments": {}}
        for table, reason, rows, _ in warehouse.query(con, "v_drop_reasons").fetchall():
            if reason is not None:
                drops[table][reason] = rows
        stats["drop_reasons"] = {
            t: dict(sorted(r.items(), key=lambda kv: -kv[1])) for t, r in drops.items()
        }
    if warehouse.table_exists(con, "communities"):
        sizes = [size for (size,) in export_rows(con, "community_sizes")]
        stats.update(
            communities=len(sizes),
            community_size_min=min(sizes, default=0),
            community_size_max=max(sizes, default=0),
            community_size_median=float(np.median(sizes)) if sizes else 0,
        )
    if all(warehouse.table_exists(con, t) for t in ("communities", "members", "stg_comments")):
        stats["levels"] = [
            dict(zip(LEVEL_COLUMNS, row, strict=True))
            for row in export_rows(con, "community_levels")
        ]
    if warehouse.table_exists(con, "memberships"):
        [(total, noise)] = export_rows(con, "membership_noise")
        stats.update(members=total, noise_share=noise / total if total else 0.0)
    if warehouse.table_exists(con, "profiles"):
        stats["profile_methods"] = dict(export_rows(con, "profile_methods"))
    if all(warehouse.table_exists(con, t) for t in ("distributions", "stg_submissions")):
        keys = ("source", "estimator", "option_sets", "usable")
        stats["estimators"] = [
            dict(zip(keys, row, strict=True)) for row in export_rows(con, "estimators_by_source")
        ]
    return stats


def write_plots(con, out: Path) -> None:
    """The members map, community sizes and option distributions as PNG files."""
    from communitybench.release import plots  # matplotlib: imported when a release is written

    out.mkdir(parents=True, exist_ok=True)
    vectors, labels = np.zeros((0, 2)), []
    if warehouse.table_exists(con, "members") and warehouse.table_exists(con, "memberships"):
        rows = con.sql(warehouse.sql_file("exports/members_map.sql")).to_arrow_table()
        if rows.num_rows:
            vectors, labels = vectors_from_arrow(rows["vector"]), rows["community_id"].to_pylist()
    plots.members_map(vectors, labels, out / "members_map.png")
    sizes = []
    if warehouse.table_exists(con, "communities"):
        sizes = [size for (size,) in export_rows(con, "community_sizes")]
    plots.community_sizes(sizes, out / "community_sizes.png")
    dists = [dist for (dist,) in export_rows(con, "dp_distributions")]
    plots.option_distributions(dists, out / "option_distributions.png")


def current_ids(con) -> dict:
    """The community, instance and item ids of this release (its ids.json)."""
    return {
        "communities": [c for (c,) in export_rows(con, "release_communities")],
        "instances": [i for (i,) in export_rows(con, "release_instances")],
        "items": [item for (item,) in export_rows(con, "release_items")],
    }


def removed_since(con, previous_items: list[str]) -> int:
    """Items used by the previous release that are now deleted, removed or taken down."""
    if not previous_items:
        return 0
    return export_rows(con, "removed_items", {"items": previous_items})[0][0]


def sources(con) -> dict:
    """Which dump files and which time range the release was built from."""
    out = {}
    if warehouse.table_exists(con, "ingest_files"):
        keys = ("file", "file_key", "lines", "completed")
        out["dump_files"] = [
            dict(zip(keys, row, strict=True)) for row in export_rows(con, "source_files")
        ]
    if warehouse.table_exists(con, "stg_comments"):
        [(first, last)] = export_rows(con, "comment_range")
        out["comments_created"] = [str(first), str(last)]
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
    stage_versions: dict[str, str],
    input_fingerprint: str | None = None,
    shortcut_audit: list[dict] | None = None,
) -> Path:
    """Build ``releases/<version>/`` in a temporary folder and publish it atomically."""
    releases_dir = Path(releases_dir)
    final = releases_dir / version
    tmp = staging_dir(releases_dir, version)
    try:
        counts = export_splits(con, tmp)
        write_plots(con, tmp / "plots")
        stats = collect_stats(con)
        ids = current_ids(con)
        previous = previous_release(releases_dir)
        diff = release_diff(previous, ids)
        if previous is not None:
            diff["removed_items"] = removed_since(con, previous.get("items", []))
        (tmp / "ids.json").write_text(json.dumps(ids))
        write_eval_files(tmp)
        baselines = release_baselines(Release(tmp, {"version": version, "models": models}))
        (tmp / "baselines.json").write_text(json.dumps(baselines, indent=1))
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
            "stage_versions": stage_versions,
            "diff": diff,
            "input_fingerprint": input_fingerprint,
            "shortcut_audit": shortcut_audit or [],
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
            baselines=baselines,
            shortcut_audit=shortcut_audit,
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
