"""Two community levels: the forum, and stable sub-communities found inside it.

Every scope (a subreddit, or the whole forum with scope 'global') with enough members is a
``forum`` community of all its members. ``sub`` communities are found inside it from two views
of a member (CommunityBench's "common identity" and "common bond"):

- identity: the member vector with the forum's shared topic removed: centred on the forum's
  mean, L2-normalised (cosine on what is left: stance, tone, style), then PCA;
- bond: the reply graph: whom the member replies to or is replied to by, and with whom it
  comments in the same threads.

They are combined by graph smoothing (``combine``): each member's identity point moves towards
the mean point of its bond neighbours, ``(1 - w) x_i + w * mean_j x_j``, so members who talk to
each other are drawn together and HDBSCAN (any backend) runs on the combined points.

A sub-community is kept only when it is stable (``stability``): the mean, over seeded subsample
re-clusterings, of the best Jaccard overlap between the community (restricted to the subsample)
and a community found in the subsample (Hennig 2007, "Cluster-wise assessment of cluster
stability"; subsetting scheme).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

METHOD = "hdbscan_identity_bond_v1"
FORUM, SUB = "forum", "sub"
LEVELS = (FORUM, SUB)


def forum_id(scope: str) -> str:
    """'c_' + 12 hex of sha256('forum', scope): the forum community's id never changes."""
    return "c_" + hashlib.sha256(f"forum\x1f{scope}".encode()).hexdigest()[:12]


def identity_vectors(vectors: np.ndarray, *, centre: bool) -> np.ndarray:
    """Member vectors with the forum's topic removed: unit vectors minus the forum's mean unit
    vector (``reduce_dimensions`` then normalises what is left and applies PCA).

    Args:
        vectors: (n, d) member vectors of one forum.
        centre: Subtract the forum's mean (False: the raw vectors, as the single-level
            clustering used).
    """
    x = np.asarray(vectors, dtype=np.float64)
    if centre and len(x):
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
        x = x - x.mean(axis=0, keepdims=True)
    return x


def bond_matrix(
    n: int, replies: tuple[np.ndarray, np.ndarray, np.ndarray], threads: tuple
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The member graph of one forum as two sparse factors (co-commenting stays implicit).

    Args:
        n: Members in the forum.
        replies: (child index, parent index, count): member ``child`` replied ``count`` times
            to member ``parent``.
        threads: (member index, thread index): the member commented in the thread.

    Returns:
        (R, T): R the symmetric reply-count matrix (n, n); T the thread incidence (n, m)
        scaled so that ``T @ T.T`` weighs each pair of co-commenters 1 / (thread members - 1)
        (a thread spreads one unit of weight per member over its other members).
    """
    child, parent, count = (np.asarray(a) for a in replies)
    keep = child != parent
    r = sp.coo_matrix(
        (count[keep].astype(np.float64), (child[keep], parent[keep])), shape=(n, n)
    ).tocsr()
    member, thread = (np.asarray(a, dtype=np.int64) for a in threads)
    m = int(thread.max()) + 1 if len(thread) else 0
    t = sp.coo_matrix((np.ones(len(member)), (member, thread)), shape=(n, m)).tocsr()
    t.data[:] = 1.0  # duplicate (member, thread) rows count once
    size = np.asarray(t.sum(axis=0)).ravel()
    scale = np.where(size >= 2, 1.0 / np.sqrt(np.maximum(size - 1, 1)), 0.0)
    return (r + r.T).tocsr(), (t @ sp.diags(scale)).tocsr()


def combine(points: np.ndarray, bond: tuple[sp.csr_matrix, sp.csr_matrix], weight: float):
    """Identity points smoothed over the bond graph: (1 - w) x_i + w * (weighted mean of the
    neighbours' x_j); a member without neighbours keeps its point."""
    if weight <= 0 or not len(points):
        return points
    r, t = bond
    tt_diag = np.asarray(t.multiply(t).sum(axis=1)).ravel()  # self-pairs to take out
    summed = r @ points + t @ (t.T @ points) - tt_diag[:, None] * points
    degree = np.asarray(r.sum(axis=1)).ravel() + np.asarray(t @ t.sum(axis=0).T).ravel() - tt_diag
    has = degree > 1e-12
    mean = np.where(has[:, None], summed / np.where(has, degree, 1.0)[:, None], points)
    return (1.0 - weight) * points + weight * mean


def stability(
    points: np.ndarray,
    labels: np.ndarray,
    cluster: Callable[[np.ndarray], np.ndarray],
    *,
    runs: int,
    fraction: float,
    seed: int,
) -> np.ndarray:
    """Per label 0..k-1: mean best-match Jaccard over ``runs`` seeded subsample clusterings.

    Args:
        points: (n, d) the points that gave ``labels``.
        labels: -1 = noise, else 0..k-1.
        cluster: Labels of a subset of the points (the same algorithm and parameters).
        runs: Subsamples drawn.
        fraction: Share of the points in each subsample.
        seed: Seeds the subsamples.

    Returns:
        float array (k,): 1 = found whole in every subsample; a community the subsamples break
        up or never find scores near 0.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    if k == 0 or runs <= 0:
        return np.ones(k)
    n = len(points)
    rng = np.random.default_rng(seed)
    total = np.zeros(k)
    for _ in range(runs):
        idx = np.sort(rng.choice(n, size=max(int(round(fraction * n)), 2), replace=False))
        found = cluster(points[idx])
        total += _best_jaccard(labels[idx], found, k)
    return total / runs


def _best_jaccard(original: np.ndarray, found: np.ndarray, k: int) -> np.ndarray:
    """For each original label, the best Jaccard with any found label (0 when absent)."""
    best = np.zeros(k)
    kf = int(found.max()) + 1 if len(found) and found.max() >= 0 else 0
    if kf == 0:
        return best
    a, b = original >= 0, found >= 0
    both = a & b
    inter = np.zeros((k, kf))
    np.add.at(inter, (original[both], found[both]), 1)
    size_a = np.bincount(original[a], minlength=k).astype(float)
    size_b = np.bincount(found[b], minlength=kf).astype(float)
    union = size_a[:, None] + size_b[None, :] - inter
    jac = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return jac.max(axis=1)


def scope_graph(ids: list[str], replies, threads) -> tuple[tuple, tuple]:
    """(replies, threads) of ``bond_matrix`` in member-index terms, from one scope's rows.

    Args:
        ids: The scope's member ids, in the order of its points.
        replies: polars frame member_id, parent_member_id, n (one scope).
        threads: polars frame member_id, thread_id (one scope).
    """
    index = {m: i for i, m in enumerate(ids)}
    rows = [
        (index[c], index[p], n)
        for c, p, n in replies.select("member_id", "parent_member_id", "n").iter_rows()
        if c in index and p in index
    ]
    child, parent, count = (
        (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
        if rows
        else (np.zeros(0, np.int64),) * 3
    )
    pairs = [
        (index[m], t) for m, t in threads.select("member_id", "thread_id").iter_rows() if m in index
    ]
    thread_index: dict[str, int] = {}
    member = np.array([i for i, _ in pairs], dtype=np.int64)
    thread = np.array(
        [thread_index.setdefault(t, len(thread_index)) for _, t in pairs], dtype=np.int64
    )
    return (child, parent, count), (member, thread)
