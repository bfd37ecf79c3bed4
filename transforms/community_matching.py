"""Stable community ids: match this build's communities to the previous build's.

A community that persists keeps its id: the previous community it overlaps most (member-set
Jaccard) or, failing that, whose centroid it is closest to (cosine) hands its id down. Unmatched
communities keep their fresh hash id (``transforms.communities.community_ids``); previous ones
left without a partner are recorded as vanished. Communities of a scope reused unchanged
(``kept_lineage``) skip matching; their ids stay reserved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp


@dataclass(frozen=True)
class CommunitySet:
    """Communities of one build: ids, scopes, member-id lists and centroids (row-aligned)."""

    ids: list[str]
    scopes: list[str]
    members: list[list[str]]
    centroids: np.ndarray


def match_communities(
    previous: CommunitySet,
    current: CommunitySet,
    *,
    min_jaccard: float,
    min_cosine: float,
    reserved: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Give current communities the ids of the previous build's communities they continue.

    Greedy one-to-one matching inside each scope: first by member-set Jaccard (>= min_jaccard,
    best pairs first), then the rest by centroid cosine (>= min_cosine; it still works when
    member ids change, e.g. with a new pseudonym key). Ties break on ids, so it is deterministic.
    Matching never crosses scopes, so matching only the changed scopes' communities gives the
    same rows as matching all of them, provided ``reserved`` holds the other scopes' ids (a new
    community's id must not collide with them).

    Returns:
        Lineage rows: ``community_id`` (final), ``provisional_id`` (the current hash id; null for
        vanished), ``scope``, ``status`` (kept | new | vanished), ``matched_from``,
        ``match_method``, ``jaccard``, ``centroid_cosine``, ``size``, ``previous_size``.
    """
    jac = _jaccard(previous, current)
    cos = _cosine(previous.centroids, current.centroids)
    same_scope = np.array(previous.scopes)[:, None] == np.array(current.scopes)[None, :]
    # member keys are (scope, member_id), so overlaps never cross scopes
    jac_pairs = _greedy(jac.tocoo(), min_jaccard, previous, current)
    left = _unmatched_mask(jac_pairs, same_scope)
    cos_pairs = _greedy(sp.coo_matrix(np.where(left, cos, 0)), min_cosine, previous, current)
    matches = {j: (i, "jaccard") for i, j in jac_pairs} | {j: (i, "centroid") for i, j in cos_pairs}
    return _lineage(previous, current, matches, jac.toarray(), reserved)


def _jaccard(previous: CommunitySet, current: CommunitySet) -> sp.csr_matrix:
    keys: dict[tuple[str, str], int] = {}

    def incidence(cs: CommunitySet) -> tuple[list[int], list[int]]:
        rows, cols = [], []
        for r, (scope, ids) in enumerate(zip(cs.scopes, cs.members, strict=True)):
            for m in ids:
                rows.append(r)
                cols.append(keys.setdefault((scope, m), len(keys)))
        return rows, cols

    p_rows, p_cols = incidence(previous)
    c_rows, c_cols = incidence(current)
    shape = len(keys)
    p = sp.csr_matrix((np.ones(len(p_rows)), (p_rows, p_cols)), shape=(len(previous.ids), shape))
    c = sp.csr_matrix((np.ones(len(c_rows)), (c_rows, c_cols)), shape=(len(current.ids), shape))
    inter = (p @ c.T).tocoo()
    p_size, c_size = np.asarray(p.sum(axis=1)).ravel(), np.asarray(c.sum(axis=1)).ravel()
    union = p_size[inter.row] + c_size[inter.col] - inter.data
    return sp.csr_matrix((inter.data / union, (inter.row, inter.col)), shape=inter.shape)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return _cosine_rows(a) @ _cosine_rows(b).T


def _greedy(scores: sp.coo_matrix, minimum: float, previous, current) -> list[tuple[int, int]]:
    """Best pairs first (ties by previous id, then current id); each side used once."""
    order = sorted(
        zip(scores.data, scores.row, scores.col, strict=True),
        key=lambda t: (-t[0], previous.ids[t[1]], current.ids[t[2]]),
    )
    used_p, used_c, pairs = set(), set(), []
    for score, i, j in order:
        if score < minimum or score <= 0:
            break
        if i not in used_p and j not in used_c:
            used_p.add(int(i))
            used_c.add(int(j))
            pairs.append((int(i), int(j)))
    return pairs


def _unmatched_mask(pairs: list[tuple[int, int]], same_scope: np.ndarray) -> np.ndarray:
    mask = same_scope.astype(bool).copy()
    for i, j in pairs:
        mask[i, :] = False
        mask[:, j] = False
    return mask


def kept_lineage(reused: CommunitySet) -> pl.DataFrame:
    """Lineage rows of communities reused unchanged: what matching would give (kept, Jaccard 1)."""
    rows = [
        (cid, cid, scope, "kept", cid, "jaccard", 1.0, _pair_cosine(c, c), len(ids), len(ids))
        for cid, scope, ids, c in zip(
            reused.ids, reused.scopes, reused.members, reused.centroids, strict=True
        )
    ]
    return pl.DataFrame(rows, schema=LINEAGE_SCHEMA, orient="row")


def _cosine_rows(a: np.ndarray) -> np.ndarray:
    return (a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)).astype(np.float64)


def _pair_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The recorded cosine of one pair: the same bits whatever else was matched alongside."""
    return float(np.dot(*_cosine_rows(np.stack([a, b]))))


def _lineage(
    previous, current, matches: dict, jac: np.ndarray, reserved: frozenset
) -> pl.DataFrame:
    taken = set(previous.ids) | set(reserved)
    rows = []
    for j, cid in enumerate(current.ids):
        size, scope = len(current.members[j]), current.scopes[j]
        if j in matches:
            i, method = matches[j]
            pid, overlap = previous.ids[i], float(jac[i, j])
            cosine = _pair_cosine(previous.centroids[i], current.centroids[j])
            prev_size = len(previous.members[i])
            rows.append((pid, cid, scope, "kept", pid, method, overlap, cosine, size, prev_size))
            continue
        final = cid if cid not in taken else _rehash(cid, taken)
        taken.add(final)
        best = float(jac[:, j].max()) if len(previous.ids) else 0.0
        rows.append((final, cid, scope, "new", None, None, best, None, size, None))
    rows += _vanished(previous, {i for i, _ in matches.values()}, jac)
    return pl.DataFrame(rows, schema=LINEAGE_SCHEMA, orient="row")


def _vanished(previous: CommunitySet, kept: set[int], jac: np.ndarray) -> list[tuple]:
    """Lineage rows of previous communities nothing continues (with their best overlap)."""
    rows = []
    for i, pid in enumerate(previous.ids):
        if i not in kept:
            best = float(jac[i].max()) if jac.shape[1] else 0.0
            size = len(previous.members[i])
            rows.append(
                (pid, None, previous.scopes[i], "vanished", None, None, best, None, None, size)
            )
    return rows


def _rehash(cid: str, taken: set[str]) -> str:
    """A fresh id for a new community whose hash collides with a previous build's id."""
    salt = 1
    while (new := "c_" + hashlib.sha256(f"{cid}#{salt}".encode()).hexdigest()[:12]) in taken:
        salt += 1
    return new


LINEAGE_SCHEMA = {
    "community_id": pl.String,
    "provisional_id": pl.String,
    "scope": pl.String,
    "status": pl.String,
    "matched_from": pl.String,
    "match_method": pl.String,
    "jaccard": pl.Float64,
    "centroid_cosine": pl.Float64,
    "size": pl.Int64,
    "previous_size": pl.Int64,
}
