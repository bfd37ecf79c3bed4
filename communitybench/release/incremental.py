"""Incremental rebuilds: a fingerprint of everything a release is derived from.

The fingerprint covers the build config, the code (stage version constants and git revision),
the takedown list and the raw observations (row count, an order-independent hash of the
observation keys and the newest retrieval time per raw table). When it equals the fingerprint
recorded in the latest release, nothing the release derives from has changed: the build reuses
every stage and republishes the previous release's data files under a new version.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import warehouse
from communitybench.release.versions import publish, sha256_file, staging_dir
from transforms.card import render_card

RAW_TABLES = ("raw_submissions", "raw_comments")
COPIED = ("pi", "dp", "ccg", "ci", "plots", "stats.json", "ids.json", "eval", "baselines.json")


def input_fingerprint(con, *, config, code: dict, takedowns: Path | None) -> str:
    """sha256 over config, code versions, takedowns and the raw observation tables."""
    state = {"config": config.config_hash(), "code": code, "raw": {}}
    select = warehouse.sql_file("exports/raw_fingerprint.sql")
    for table in RAW_TABLES:
        if warehouse.table_exists(con, table):
            warehouse.set_variables(con, {"raw_table": table})
            [(observations, key_hash, newest)] = con.sql(select).fetchall()
            state["raw"][table] = [observations, str(key_hash), newest]
    if takedowns is not None and Path(takedowns).exists():
        state["takedowns"] = hashlib.sha256(Path(takedowns).read_bytes()).hexdigest()
    blob = json.dumps(state, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def latest_release(releases_dir: Path) -> tuple[str, dict] | None:
    """(version, manifest) of releases/LATEST, or None."""
    latest = Path(releases_dir) / "LATEST"
    if not latest.exists():
        return None
    version = latest.read_text().strip()
    manifest = Path(releases_dir) / version / "manifest.json"
    if not manifest.exists():
        return None
    return version, json.loads(manifest.read_text())


def republish(releases_dir: Path, *, previous: str, version: str, created_at: str) -> Path:
    """Publish ``version`` with the data files of ``previous`` (nothing changed), atomically."""
    releases_dir = Path(releases_dir)
    source = releases_dir / previous
    manifest = json.loads((source / "manifest.json").read_text())
    tmp = staging_dir(releases_dir, version)
    try:
        for name in COPIED:
            target = source / name
            if target.is_dir():
                shutil.copytree(target, tmp / name)
            elif target.exists():
                shutil.copy2(target, tmp / name)
        ids = json.loads((tmp / "ids.json").read_text())
        kept = {
            k: {"added": 0, "removed": 0, "kept": len(ids.get(k, []))}
            for k in ("communities", "instances")
        }
        manifest.update(
            version=version,
            created_at=created_at,
            reused_from=previous,
            diff={"previous": previous, **kept, "removed_items": 0},
        )
        stats = json.loads((tmp / "stats.json").read_text())
        baselines = tmp / "baselines.json"
        card = render_card(
            version=version,
            splits=manifest["row_counts"],
            stats=stats,
            diff=manifest["diff"],
            validation=manifest["validation"],
            manifest_summary={
                "config_hash": manifest["config_hash"],
                "code_revision": manifest["code_revision"],
                "created_at": created_at,
                "reused_from": previous,
                "models": manifest["models"],
            },
            baselines=json.loads(baselines.read_text()) if baselines.exists() else None,
        )
        (tmp / "README.md").write_text(card)
        manifest["files"] = {
            str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        publish(tmp, releases_dir / version, releases_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return releases_dir / version
