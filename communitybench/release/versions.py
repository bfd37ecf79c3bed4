"""Splits and versioned, atomic, immutable releases.

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

import numpy as np
from tqdm import tqdm

from transforms.splits import (
    SPLIT_NAMES,
    assign_splits,
    cross_split_near_duplicates,
    leaking_groups,
    merge_near_duplicates,
)

RELEASE_VERSION = "release_v1"
TASK_TABLES = {"pi": "task_pi", "dp": "task_dp", "ccg": "task_ccg", "ci": "task_ci"}


class ReleaseError(RuntimeError):
    """A release that cannot be written (exists already, a split gate failed, ...)."""


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


def query_vectors(con, query_ids: list[str], *, model: str, revision: str) -> np.ndarray | None:
    """Embeddings of the queries (None when the embedding tables are not there)."""
    try:
        rows = con.execute(
            """select t.item_id, e.vector from texts t join embeddings e
               on e.text_hash = t.text_hash and e.model = ? and e.revision = ?
               where t.item_id in (select unnest(?::varchar[]))""",
            [model, revision, query_ids],
        ).fetchall()
    except Exception:  # noqa: BLE001 - no texts/embeddings tables: no near-duplicate merge
        return None
    found = dict(rows)
    if len(found) < len(set(query_ids)):
        return None
    return np.array([found[q] for q in query_ids], dtype=np.float32)


def assign_instance_splits(
    con,
    *,
    seed: int,
    fractions,
    group_by: str,
    near_dup_cosine: float,
    model: str,
    revision: str,
) -> dict:
    """Write ``instance_splits`` for every task table; check the leakage gates."""
    rows = []
    for task, table in TASK_TABLES.items():
        rows += [
            (task, *r)
            for r in con.execute(
                f"select instance_id, thread_id, community_id, query_id from {table} order by 1"
            ).fetchall()
        ]
    threads = sorted({(r[2], r[4]) for r in rows})
    vectors = query_vectors(con, [q for _, q in threads], model=model, revision=revision)
    merged = {t: t for t, _ in threads}
    if vectors is not None and group_by == "thread":
        merged = merge_near_duplicates([t for t, _ in threads], vectors, threshold=near_dup_cosine)
    groups = [merged[r[2]] if group_by == "thread" else r[3] for r in rows]
    splits = assign_splits(groups, seed=seed, fractions=fractions)
    con.execute("delete from instance_splits")
    con.executemany(
        "insert into instance_splits values (?, ?, ?, ?, ?, ?)",
        [(r[0], r[1], r[2], r[3], g, s) for r, g, s in zip(rows, groups, splits, strict=True)],
    )
    return _split_gates(con, threads, vectors, near_dup_cosine)


def _split_gates(con, threads, vectors, threshold: float) -> dict:
    pairs = con.execute("select thread_id, split from instance_splits").fetchall()
    leaks = leaking_groups([t for t, _ in pairs], [s for _, s in pairs])
    split_of = dict(pairs)
    near = []
    if vectors is not None:
        near = cross_split_near_duplicates(
            [t for t, _ in threads],
            [split_of[t] for t, _ in threads],
            vectors,
            threshold=threshold,
        )
    counts = con.execute(
        "select task, split, count(*) from instance_splits group by all order by all"
    ).fetchall()
    gates = {
        "threads_in_two_splits": leaks,
        "near_duplicate_queries_across_splits": [list(p) for p in near],
        "near_duplicate_check": vectors is not None,
        "counts": {f"{t}/{s}": n for t, s, n in counts},
    }
    if leaks or near:
        raise ReleaseError(f"split gates failed: {json.dumps(gates)[:2000]}")
    return gates


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_splits(con, out: Path, *, progress: bool = True) -> dict[str, dict[str, int]]:
    """Write ``<task>/<split>.parquet`` and ``.jsonl`` for every task and split."""
    counts: dict[str, dict[str, int]] = {}
    jobs = [(t, s) for t in TASK_TABLES for s in SPLIT_NAMES]
    for task, split in tqdm(jobs, desc="export", disable=not progress):
        (out / task).mkdir(parents=True, exist_ok=True)
        select = (
            f"select x.*, s.split from {TASK_TABLES[task]} x join instance_splits s "
            f"on s.task = '{task}' and s.instance_id = x.instance_id "
            f"where s.split = '{split}' order by x.instance_id"
        )
        con.execute(f"copy ({select}) to '{out / task / split}.parquet' (format parquet)")
        con.execute(f"copy ({select}) to '{out / task / split}.jsonl' (format json)")
        counts.setdefault(task, {})[split] = con.execute(
            f"select count(*) from ({select})"
        ).fetchone()[0]
    return counts


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
