"""Versioned, atomic, immutable release folders.

A release is written into ``releases/.tmp-<version>-<pid>/`` and renamed into
``releases/<version>/`` only when complete; an existing version is never overwritten, a crash or
a failed gate leaves no version folder, and ``releases/LATEST`` names the newest release.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from communitybench.errors import ReleaseError

# v2: estimators per source in card and stats; v3: eval/ files, baselines.json, shortcut audit
RELEASE_VERSION = "release_v3"
TASK_TABLES = {"pi": "task_pi", "dp": "task_dp", "ccg": "task_ccg", "ci": "task_ci"}


def next_version(releases_dir: Path, *, today: datetime, requested: str | None = None) -> str:
    """``YYYY.MM.DD`` (UTC), then ``-2``, ``-3`` for later builds that day; or the requested one."""
    if requested:
        if (releases_dir / requested).exists():
            raise ReleaseError(
                f"release {requested} already exists in {releases_dir}; published versions are "
                "never overwritten — choose another --version"
            )
        return requested
    base = today.strftime("%Y.%m.%d")
    version, n = base, 1
    while (releases_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(tmp: Path, final: Path, releases_dir: Path) -> None:
    """Rename the finished folder into place and point LATEST at it (both atomic renames)."""
    if final.exists():
        raise ReleaseError(f"release {final.name} appeared while building; not overwriting it")
    os.rename(tmp, final)
    latest_tmp = releases_dir / f".LATEST.{os.getpid()}"
    latest_tmp.write_text(final.name + "\n")
    os.replace(latest_tmp, releases_dir / "LATEST")


def staging_dir(releases_dir: Path, version: str) -> Path:
    """A fresh temporary folder for a version (stale ones from crashed builds are removed)."""
    releases_dir.mkdir(parents=True, exist_ok=True)
    for stale in releases_dir.glob(f".tmp-{version}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = releases_dir / f".tmp-{version}-{os.getpid()}"
    tmp.mkdir()
    return tmp


def previous_release(releases_dir: Path) -> dict | None:
    """Ids of the newest published release (for the diff), or None."""
    latest = releases_dir / "LATEST"
    if not latest.exists():
        return None
    folder = releases_dir / latest.read_text().strip()
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    ids = json.loads((folder / "ids.json").read_text()) if (folder / "ids.json").exists() else {}
    return {
        "version": data["version"],
        "communities": ids.get("communities", []),
        "instances": ids.get("instances", []),
        "items": ids.get("items", []),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
