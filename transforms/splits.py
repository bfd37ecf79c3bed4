"""Deterministic train/dev/test splits by hashing (seed, group key), with leakage gates.

Groups are threads by default (every instance of a thread lands in one split) or communities
(an "unseen communities" split). Near-duplicate queries (embedding cosine above a threshold) are
merged into one group before hashing, so no near-duplicate query straddles two splits.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SPLITS_VERSION = "splits_v2"  # v2: unseen-community groups follow the sub-community
SPLIT_NAMES = ("train", "dev", "test")


def split_of(group_key: str, *, seed: int, fractions: tuple[float, float, float]) -> str:
    """The split of one group: sha256(seed:key) mapped to [0, 1) and cut by the fractions."""
    digest = hashlib.sha256(f"{seed}:{group_key}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, fraction in zip(SPLIT_NAMES, fractions, strict=True):
        edge += fraction
        if unit < edge:
            return name
    return SPLIT_NAMES[-1]


def merge_near_duplicates(
    keys: list[str], vectors: np.ndarray, *, threshold: float
) -> dict[str, str]:
    """Map each key to a representative key so that near-duplicate vectors share one group.

    Near-duplicate pairs are the edges of a graph over the keys; its connected components
    (scipy's ``connected_components``) are the groups, so near-duplication is transitive.

    Args:
        keys: one group key per row of ``vectors`` (e.g. the thread of each query); a key that
            repeats is one node.
        vectors: query embeddings (any norm).
        threshold: cosine similarity at or above which two queries are near-duplicates.

    Returns:
        key -> representative (the smallest key of its connected component).
    """
    nodes = sorted(set(keys))
    index = {k: i for i, k in enumerate(nodes)}
    node_of = np.array([index[k] for k in keys], dtype=np.int64)
    rows, cols = [], []
    for i, j in near_duplicate_pairs(vectors, threshold=threshold):
        rows.append(node_of[i])
        cols.append(node_of[j])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    # nodes are sorted, so the first node seen of each component is its smallest key
    first: dict[int, str] = {}
    for node, label in zip(nodes, labels.tolist(), strict=True):
        first.setdefault(label, node)
    return {k: first[labels[index[k]]] for k in keys}


def near_duplicate_pairs(vectors: np.ndarray, *, threshold: float) -> list[tuple[int, int]]:
    """Row pairs ``(a, b)``, ``a < b``, whose cosine similarity is at least ``threshold``."""
    if len(vectors) < 2:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    pairs = []
    for start in range(0, len(vectors), 2048):  # blocks keep memory bounded
        sims = unit[start : start + 2048] @ unit.T
        for i, j in zip(*np.nonzero(sims >= threshold), strict=True):
            if start + i < j:
                pairs.append((int(start + i), int(j)))
    return pairs


def assign_splits(
    group_keys: list[str], *, seed: int, fractions: tuple[float, float, float]
) -> list[str]:
    """Split names for a list of group keys (same key → same split)."""
    unique = {k: split_of(k, seed=seed, fractions=fractions) for k in set(group_keys)}
    return [unique[k] for k in group_keys]


def leaking_groups(group_keys: list[str], splits: list[str]) -> list[str]:
    """Group keys found in more than one split (must be empty)."""
    seen: dict[str, set[str]] = {}
    for key, split in zip(group_keys, splits, strict=True):
        seen.setdefault(key, set()).add(split)
    return sorted(k for k, s in seen.items() if len(s) > 1)


def cross_split_near_duplicates(
    ids: list[str], splits: list[str], vectors: np.ndarray, *, threshold: float
) -> list[tuple[str, str]]:
    """Pairs of ids whose vectors are near-duplicates but sit in different splits."""
    return [
        (ids[a], ids[b])
        for a, b in near_duplicate_pairs(vectors, threshold=threshold)
        if splits[a] != splits[b]
    ]
