"""Communities: PCA, HDBSCAN behind one backend interface, deterministic and stable ids.

HDBSCAN slows sharply above ~50 dimensions, so member vectors are L2-normalised (Euclidean
distance then orders pairs like cosine) and reduced with PCA first (DESIGN.md). Backends differ
only in speed: ``hdbscan`` (reference), ``fast_hdbscan`` (numba, run in its reproducible mode)
and ``cuml`` (GPU). Cluster labels are renumbered by first member so identical partitions get
identical labels whatever the backend; ids hash (scope, sorted member ids), and a rebuild
inherits the id of the previous community it matches (``match_communities``).

Scopes are clustered independently, so a scope whose inputs (``scope_fingerprints``: member ids,
vectors and every parameter) did not change can keep its previous communities untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.community_levels import (
    FORUM,
    LEVELS,
    METHOD,
    SUB,
    bond_matrix,
    combine,
    forum_id,
    identity_vectors,
    scope_graph,
    stability,
)

COMMUNITIES_VERSION = "communities_v2"
BACKENDS = ("hdbscan", "fast_hdbscan", "cuml")
NOISE = -1
FAST_HDBSCAN_MAX_DIM = 30


@dataclass(frozen=True)
class Clustering:
    """Labels (-1 = noise) renumbered 0..k-1 by first member, with per-label persistence."""

    labels: np.ndarray
    probabilities: np.ndarray
    persistence: np.ndarray


def reduce_dimensions(vectors: np.ndarray, *, dim: int) -> np.ndarray:
    """L2-normalise rows, then PCA to at most ``dim`` components (deterministic).

    Args:
        vectors: (n, d) member vectors.
        dim: Target size; capped at d and n - 1.

    Returns:
        float64 array (n, k).
    """
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    n, d = x.shape
    k = min(dim, d, n - 1)
    if k < 1 or k >= d:
        return x
    # both solvers are exact; svd_flip fixes the component signs
    solver = "covariance_eigh" if n >= 10 * d else "full"
    from sklearn.decomposition import PCA  # imported when clustering (keeps the CLI quick)

    return PCA(n_components=k, svd_solver=solver).fit_transform(x)


def cluster_members(
    points: np.ndarray,
    *,
    backend: str,
    min_cluster_size: int,
    min_samples: int | None,
    selection_method: str = "eom",
) -> Clustering:
    """HDBSCAN with the chosen backend; fewer points than ``min_cluster_size`` are all noise."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown clustering backend {backend!r} (one of {', '.join(BACKENDS)})")
    n = len(points)
    if n < max(min_cluster_size, 2):
        return Clustering(np.full(n, NOISE), np.zeros(n), np.zeros(0))
    fit = {"hdbscan": _fit_hdbscan, "fast_hdbscan": _fit_fast_hdbscan, "cuml": _fit_cuml}
    labels, probabilities, persistence = fit[backend](
        np.ascontiguousarray(points),
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        cluster_selection_method=selection_method,
    )
    return _canonical(np.asarray(labels), np.asarray(probabilities), np.asarray(persistence))


def _fit_hdbscan(points: np.ndarray, **params) -> tuple:
    import hdbscan

    model = hdbscan.HDBSCAN(core_dist_n_jobs=1, **params).fit(points)
    return model.labels_, model.probabilities_, model.cluster_persistence_


def _fit_fast_hdbscan(points: np.ndarray, **params) -> tuple:
    import fast_hdbscan

    if points.shape[1] > FAST_HDBSCAN_MAX_DIM:  # it would switch to approximate neighbours
        raise ValueError(
            f"fast_hdbscan is exact up to {FAST_HDBSCAN_MAX_DIM} dimensions, got "
            f"{points.shape[1]}: lower communities.pca_dim or use the hdbscan backend"
        )

    model = fast_hdbscan.HDBSCAN(reproducible=True, **params).fit(points)
    return (
        model.labels_,
        model.probabilities_,
        tree_persistence(model._condensed_tree, model.labels_),
    )


def _fit_cuml(points: np.ndarray, **params) -> tuple:
    try:
        from cuml.cluster.hdbscan import HDBSCAN
    except ImportError as exc:
        raise RuntimeError(
            "communities.backend = 'cuml' needs RAPIDS cuML on a CUDA machine "
            "(pip install cuml-cu13); use 'hdbscan' or 'fast_hdbscan' on CPU"
        ) from exc
    model = HDBSCAN(output_type="numpy", **params).fit(points.astype(np.float32))
    return model.labels_, model.probabilities_, model.cluster_persistence_


def tree_persistence(tree: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """hdbscan's ``cluster_persistence_`` computed from any condensed tree.

    stability(node) = sum over its rows of (lambda - lambda_birth(node)) * child_size, divided
    by (cluster size * max lambda), as ``hdbscan._hdbscan_tree.get_stability_scores`` does.
    """
    n_points = len(labels)
    parent, child = tree["parent"].astype(np.int64), tree["child"].astype(np.int64)
    lam, size = tree["lambda_val"].astype(np.float64), tree["child_size"].astype(np.float64)
    n_nodes = int(max(parent.max(), child.max())) + 1
    birth, node_size, up = np.zeros(n_nodes), np.zeros(n_nodes), np.full(n_nodes, -1)
    birth[child], node_size[child], up[child] = lam, size, parent
    node_size[n_points] = n_points  # the root
    stability = np.zeros(n_nodes)
    np.add.at(stability, parent, (lam - birth[parent]) * size)
    finite = lam[np.isfinite(lam)]
    max_lambda = float(finite.max()) if finite.size else 0.0
    counts = np.bincount(labels[labels >= 0], minlength=int(labels.max()) + 1)
    result = np.ones(len(counts))
    for label, count in enumerate(counts):
        node = up[int(np.flatnonzero(labels == label)[0])]
        while node_size[node] < count and up[node] >= 0:
            node = up[node]
        if max_lambda > 0 and count > 0:
            result[label] = stability[node] / (count * max_lambda)
    return result


def _canonical(labels: np.ndarray, probs: np.ndarray, persistence: np.ndarray) -> Clustering:
    """Renumber labels in order of their first member (backend-independent numbering)."""
    found = [int(lab) for lab in dict.fromkeys(labels.tolist()) if lab >= 0]
    mapping = np.full(max(found, default=-1) + 2, NOISE)
    mapping[[lab + 1 for lab in found]] = np.arange(len(found))
    new = mapping[labels.astype(np.int64) + 1]
    return Clustering(new, probs.astype(np.float64), persistence[found].astype(np.float64))


def community_ids(scopes: list[str], members: list[list[str]]) -> list[str]:
    """'c_' + 12 hex of sha256(scope, sorted member ids): identical input, identical ids."""
    out = []
    for scope, ids in zip(scopes, members, strict=True):
        blob = scope + "\x1f" + "\x1e".join(sorted(ids))
        out.append("c_" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12])
    return out


def scope_fingerprints(
    members: pl.DataFrame, vectors: np.ndarray, *, params: dict, graphs: dict | None = None
) -> dict[str, str]:
    """sha256 per scope over its sorted member ids, their vectors' bytes and ``params``.

    Everything ``_cluster_scope`` reads: equal fingerprints mean an identical clustering.

    Args:
        members: ``member_id`` and ``scope``, row-aligned with ``vectors``.
        vectors: (n, d) member vectors.
        params: Every setting that shapes the clustering (versions, model, backend, ...).
        graphs: Per scope, a digest of its reply graph (``graph_digests``).
    """
    graphs = graphs or {}
    head = json.dumps(params, sort_keys=True, default=str).encode()
    scopes = members["scope"].to_numpy()
    out = {}
    for scope in sorted(set(members["scope"].to_list())):
        idx = np.flatnonzero(scopes == scope)
        ids = members["member_id"].gather(idx).to_list()
        order = sorted(range(len(ids)), key=ids.__getitem__)
        digest = hashlib.sha256(head)
        digest.update(f"\x1d{scope}\x1d{vectors.shape[1:]}\x1d".encode())
        digest.update("\x1e".join(ids[i] for i in order).encode())
        digest.update(np.ascontiguousarray(vectors[idx[order]], dtype=np.float32).tobytes())
        digest.update(f"\x1d{graphs.get(scope, '')}".encode())
        out[scope] = digest.hexdigest()
    return out


def graph_digests(replies: pl.DataFrame, threads: pl.DataFrame) -> dict[str, str]:
    """sha256 per scope over its reply rows and (member, thread) rows, in a canonical order."""
    out: dict[str, hashlib._Hash] = {}
    for name, frame in (("replies", replies), ("threads", threads)):
        for (scope,), group in frame.sort(frame.columns).group_by(["scope"], maintain_order=True):
            digest = out.setdefault(scope, hashlib.sha256())
            digest.update(name.encode())
            digest.update(group.drop("scope").write_csv().encode())
    return {scope: d.hexdigest() for scope, d in out.items()}


@dataclass(frozen=True)
class LevelSettings:
    """How forums become communities and sub-communities are found inside them."""

    min_forum_members: int = 10
    centre: bool = True  # identity: the forum's mean removed before PCA
    bond_weight: float = 0.5  # reply-graph smoothing of the identity points (0 = identity only)
    stability_runs: int = 5
    stability_fraction: float = 0.8
    min_stability: float = 0.5
    seed: int = 0

    def record(self) -> dict:
        return {
            "method": METHOD,
            "min_forum_members": self.min_forum_members,
            "centre": self.centre,
            "bond_weight": self.bond_weight,
            "stability_runs": self.stability_runs,
            "stability_fraction": self.stability_fraction,
            "min_stability": self.min_stability,
            "seed": self.seed,
        }


def assign_communities(
    members: pl.DataFrame,
    vectors: np.ndarray,
    *,
    backend: str,
    pca_dim: int,
    min_cluster_size: int,
    min_samples: int | None,
    selection_method: str = "eom",
    levels: LevelSettings | None = None,
    replies: pl.DataFrame | None = None,
    threads: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """The forum community of each scope, and the sub-communities found inside it.

    Args:
        members: ``member_id`` and ``scope``, row-aligned with ``vectors``.
        vectors: (n, d) member vectors in the embedding space.
        backend, pca_dim, min_cluster_size, min_samples, selection_method: see
            ``reduce_dimensions`` and ``cluster_members``.
        levels: Forum size, identity/bond combination and stability settings.
        replies: scope, member_id, parent_member_id, n (the reply graph; none = identity only).
        threads: scope, member_id, thread_id (who commented where).

    Returns:
        (memberships, communities, centroids): memberships has ``member_id``, ``scope``,
        ``level``, ``community_id`` (null = noise, an unstable sub or no forum) and
        ``probability``; communities has ``community_id``, ``scope``, ``level``, ``parent_id``,
        ``size``, ``persistence``, ``mean_probability``, ``stability``, ``published``,
        ``pca_dim`` and ``scope_members``; centroids (mean member vector) align with its rows.
    """
    levels = levels or LevelSettings()
    params = {
        "backend": backend,
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "selection_method": selection_method,
    }
    empty_r = pl.DataFrame(
        schema={
            "scope": pl.String,
            "member_id": pl.String,
            "parent_member_id": pl.String,
            "n": pl.Int64,
        }
    )
    empty_t = pl.DataFrame(
        schema={"scope": pl.String, "member_id": pl.String, "thread_id": pl.String}
    )
    replies = empty_r if replies is None else replies
    threads = empty_t if threads is None else threads
    parts, rows, centroids = [], [], []
    for scope in sorted(set(members["scope"].to_list())):
        idx = np.flatnonzero((members["scope"] == scope).to_numpy())
        ids_in_scope = members["member_id"].gather(idx).to_list()
        graph = scope_graph(
            ids_in_scope,
            replies.filter(pl.col("scope") == scope),
            threads.filter(pl.col("scope") == scope),
        )
        part, found, means = _cluster_scope(
            scope, ids_in_scope, vectors[idx], pca_dim, params, levels, graph
        )
        parts.append(part)
        rows += found
        centroids += means
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    return (
        pl.concat(parts) if parts else _membership_rows([], "", "", np.array([]), np.array([])),
        pl.DataFrame(rows, schema=COMMUNITY_SCHEMA, orient="row"),
        np.array(centroids, dtype=np.float32).reshape(len(rows), dim),
    )


def _cluster_scope(scope, ids, vectors, pca_dim, params, levels: LevelSettings, graph):
    """Membership rows (both levels), community rows and centroids of one scope."""
    n = len(ids)
    if n < levels.min_forum_members:  # no forum, so nothing is searched inside it
        none = np.array([None] * n, dtype=object)
        return (
            pl.concat([_membership_rows(ids, scope, lv, none, np.zeros(n)) for lv in LEVELS]),
            [],
            [],
        )
    forum = forum_id(scope)
    rows = [(forum, scope, FORUM, None, n, None, 1.0, None, True, None, n)]
    centroids = [vectors.astype(np.float64).mean(axis=0)]
    identity = reduce_dimensions(identity_vectors(vectors, centre=levels.centre), dim=pca_dim)
    points = combine(identity, bond_matrix(n, *graph), levels.bond_weight)
    result = cluster_members(points, **params)
    groups = [np.flatnonzero(result.labels == k) for k in range(len(result.persistence))]
    stable = stability(
        points,
        result.labels,
        lambda sub: cluster_members(sub, **params).labels,
        runs=levels.stability_runs,
        fraction=levels.stability_fraction,
        seed=_scope_seed(levels.seed, scope),
    )
    cids = community_ids([scope] * len(groups), [[ids[i] for i in g] for g in groups])
    published = np.array([s >= levels.min_stability for s in stable], dtype=bool)
    shown = np.append(published, False)[result.labels]  # noise (-1) picks the False
    label_ids = np.array([None, *cids], dtype=object)[np.where(shown, result.labels, -1) + 1]
    for k, group in enumerate(groups):
        stats = (float(result.persistence[k]), float(result.probabilities[group].mean()))
        rows.append(
            (
                cids[k],
                scope,
                SUB,
                forum,
                len(group),
                stats[0],
                stats[1],
                float(stable[k]),
                bool(published[k]),
                points.shape[1],
                n,
            )
        )
        centroids.append(vectors[group].astype(np.float64).mean(axis=0))
    memberships = pl.concat(
        [
            _membership_rows(ids, scope, FORUM, np.array([forum] * n, dtype=object), np.ones(n)),
            _membership_rows(ids, scope, SUB, label_ids, np.where(shown, result.probabilities, 0)),
        ]
    )
    return memberships, rows, centroids


def _scope_seed(seed: int, scope: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\x1f{scope}".encode()).digest()[:8], "little")


def _membership_rows(ids: list[str], scope: str, level: str, labels, probs: np.ndarray):
    return pl.DataFrame(
        {
            "member_id": pl.Series(ids, dtype=pl.String),
            "scope": pl.Series([scope] * len(ids), dtype=pl.String),
            "level": pl.Series([level] * len(ids), dtype=pl.String),
            "community_id": pl.Series(list(labels), dtype=pl.String),
            "probability": pl.Series(np.clip(probs, 0.0, 1.0), dtype=pl.Float64),
        }
    )


COMMUNITY_SCHEMA = {
    "community_id": pl.String,
    "scope": pl.String,
    "level": pl.String,
    "parent_id": pl.String,
    "size": pl.Int64,
    "persistence": pl.Float64,
    "mean_probability": pl.Float64,
    "stability": pl.Float64,
    "published": pl.Boolean,
    "pca_dim": pl.Int64,
    "scope_members": pl.Int64,
}
