"""Deterministic splits of the task instances, and the leakage gates a release must pass.

Instances are grouped by thread (default; near-duplicate queries merged into one group first)
or by community (an unseen-community split), and each group is assigned by hashing
(``transforms/splits.py``). Gates: no thread in two splits, no near-duplicate query across splits.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

import schemas
import warehouse
from communitybench.config import EmbedConfig, SplitsConfig
from communitybench.release.versions import ReleaseError
from transforms.splits import (
    assign_splits,
    cross_split_near_duplicates,
    leaking_groups,
    merge_near_duplicates,
)
from transforms.vectors import vectors_from_arrow


def query_vectors(con, query_ids: list[str], *, model: str, revision: str) -> np.ndarray | None:
    """Embeddings of the queries, in order (None when a query has none, or no cache exists)."""
    if not all(warehouse.table_exists(con, t) for t in ("texts", "embeddings")):
        return None
    params = {"query_ids": query_ids, "model": model, "revision": revision}
    found = warehouse.query(con, "int_query_vectors", params).to_arrow_table()
    position = {q: i for i, q in enumerate(found["item_id"].to_pylist())}
    if len(position) < len(set(query_ids)):
        return None
    vectors = vectors_from_arrow(found["vector"])
    return vectors[[position[q] for q in query_ids]]


def assign_instance_splits(con, splits: SplitsConfig, embed: EmbedConfig) -> dict:
    """Write ``instance_splits`` for every task instance with the ``[splits]`` settings (the
    ``[embed]`` model's vectors find near-duplicate queries); check the leakage gates."""
    group_by, near_dup_cosine = splits.group_by, splits.near_duplicate_cosine
    model, revision = embed.model, embed.revision
    rows = warehouse.query(con, "int_instances").to_arrow_table()
    thread_ids, query_ids = rows["thread_id"].to_pylist(), rows["query_id"].to_pylist()
    threads = sorted(set(zip(thread_ids, query_ids, strict=True)))
    vectors = query_vectors(con, [q for _, q in threads], model=model, revision=revision)
    merged = {t: t for t, _ in threads}
    if vectors is not None and group_by == "thread":
        merged = merge_near_duplicates([t for t, _ in threads], vectors, threshold=near_dup_cosine)
    if group_by == "thread":
        groups = [merged[t] for t in thread_ids]
    else:
        groups = community_groups(
            thread_ids, rows["community_id"].to_pylist(), rows["level"].to_pylist()
        )
    assigned = assign_splits(groups, seed=splits.seed, fractions=splits.fractions)
    table = rows.select(["task", "instance_id", "thread_id", "community_id"])
    table = table.append_column("group_key", pa.array(groups, pa.string()))
    table = table.append_column("split", pa.array(assigned, pa.string()))
    warehouse.replace_tables(con, {"instance_splits": table.cast(_nullable("instance_splits"))})
    return split_gates(
        thread_ids, assigned, threads, vectors, rows["task"].to_pylist(), near_dup_cosine
    )


def community_groups(thread_ids: list[str], communities: list[str], levels: list[str]) -> list:
    """Group keys of an unseen-communities split: a thread's instances at both levels go with its
    sub-community (so no thread straddles two splits); threads no sub owns go with their forum.
    Every sub-community lands in one split; a forum's threads may spread over several."""
    sub_of = {
        t: c for t, c, lvl in zip(thread_ids, communities, levels, strict=True) if lvl == "sub"
    }
    return [sub_of.get(t, c) for t, c in zip(thread_ids, communities, strict=True)]


def _nullable(name: str) -> pa.Schema:
    return pa.schema(
        [f.with_nullable(True) for f in schemas.arrow_schema(schemas.load_schema(name))]
    )


def split_gates(thread_ids, splits, threads, vectors, tasks, threshold: float) -> dict:
    """The gates' findings and counts per task/split; ReleaseError when one fails."""
    leaks = leaking_groups(thread_ids, splits)
    split_of = dict(zip(thread_ids, splits, strict=True))
    near = []
    if vectors is not None:
        near = cross_split_near_duplicates(
            [t for t, _ in threads], [split_of[t] for t, _ in threads], vectors, threshold=threshold
        )
    counts: dict[str, int] = {}
    for task, split in sorted(zip(tasks, splits, strict=True)):
        counts[f"{task}/{split}"] = counts.get(f"{task}/{split}", 0) + 1
    gates = {
        "threads_in_two_splits": leaks,
        "near_duplicate_queries_across_splits": [list(p) for p in near],
        "near_duplicate_check": vectors is not None,
        "counts": counts,
    }
    if leaks or near:
        raise ReleaseError(f"split gates failed: {json.dumps(gates)[:2000]}")
    return gates
