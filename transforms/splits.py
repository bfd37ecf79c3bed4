"""Deterministic train/dev/test splits by hashing (seed, group key), with leakage gates.

Groups are threads by default (every instance of a thread lands in one split) or communities
(an "unseen communities" split). Near-duplicate queries (embedding cosine above a threshold) are
merged into one group before hashing, so no near-duplicate query straddles two splits.
"""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS_VERSION = "splits_v1"
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

    Args:
        keys: one group key per row of ``vectors`` (e.g. the thread of each query).
        vectors: query embeddings (any norm).
        threshold: cosine similarity at or above which two queries are near-duplicates.

    Returns:
        key -> representative (the smallest key of its connected component).
    """
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    if len(keys) > 1:
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        for start in range(0, len(keys), 2048):  # blocks keep memory bounded
            sims = unit[start : start + 2048] @ unit.T
            for i, j in zip(*np.nonzero(sims >= threshold), strict=True):
                a, b = find(keys[start + i]), find(keys[j])
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {k: find(k) for k in keys}


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
    if len(ids) < 2:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    pairs = []
    for start in range(0, len(ids), 2048):
        sims = unit[start : start + 2048] @ unit.T
        for i, j in zip(*np.nonzero(sims >= threshold), strict=True):
            a, b = start + i, j
            if a < b and splits[a] != splits[b]:
                pairs.append((ids[a], ids[b]))
    return pairs
