"""transforms.communities on tiny inline data: PCA, HDBSCAN backends, ids, fingerprints."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.communities import (
    assign_communities,
    cluster_members,
    community_ids,
    reduce_dimensions,
    scope_fingerprints,
    tree_persistence,
)


def blobs(sizes=(15, 12, 10), dim=6, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian blobs (centres on axes), truth labels in blob order."""
    rng = np.random.default_rng(seed)
    points = [rng.normal(scale=0.05, size=(n, dim)) + np.eye(dim)[k] for k, n in enumerate(sizes)]
    return np.vstack(points), np.repeat(np.arange(len(sizes)), sizes)


def test_reduce_dimensions_caps_and_is_deterministic():
    x, _ = blobs()
    out = reduce_dimensions(x * 7.0, dim=3)
    assert out.shape == (37, 3)
    np.testing.assert_array_equal(out, reduce_dimensions(x * 7.0, dim=3))
    # rows are L2-normalised first: scaling a member vector does not move it
    np.testing.assert_allclose(out, reduce_dimensions(x, dim=3), atol=1e-9)
    assert reduce_dimensions(x, dim=50).shape == (37, 6)  # never more than the input
    assert reduce_dimensions(x[:2], dim=8).shape == (2, 1)  # at most n - 1 components


@pytest.mark.parametrize("backend", ["hdbscan", "fast_hdbscan"])
def test_cluster_members_finds_blobs_with_canonical_labels(backend):
    x, truth = blobs()
    result = cluster_members(x, backend=backend, min_cluster_size=5, min_samples=3)
    # labels are numbered by first member, so they equal the blob order exactly
    np.testing.assert_array_equal(result.labels, truth)
    assert result.persistence.shape == (3,)
    assert ((result.persistence > 0) & (result.persistence <= 1)).all()
    assert ((result.probabilities >= 0) & (result.probabilities <= 1)).all()


def test_cluster_members_too_few_points_are_noise():
    x, _ = blobs(sizes=(3,))
    result = cluster_members(x, backend="hdbscan", min_cluster_size=5, min_samples=None)
    assert result.labels.tolist() == [-1, -1, -1]
    assert result.probabilities.tolist() == [0.0, 0.0, 0.0]


def test_cluster_members_backend_errors():
    x, _ = blobs()
    with pytest.raises(ValueError, match="unknown clustering backend"):
        cluster_members(x, backend="kmeans", min_cluster_size=5, min_samples=None)


def test_cuml_backend_without_cuml_says_what_to_do():
    try:
        import cuml  # noqa: F401
    except ImportError:
        x, _ = blobs()
        with pytest.raises(RuntimeError, match="cuML"):
            cluster_members(x, backend="cuml", min_cluster_size=5, min_samples=None)
    else:
        pytest.skip("cuML is installed")


def test_tree_persistence_matches_hdbscan():
    import hdbscan

    x, _ = blobs(sizes=(20, 14, 9), seed=3)
    x = x + np.random.default_rng(4).normal(scale=0.08, size=x.shape)
    model = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=3).fit(x)
    ours = tree_persistence(model.condensed_tree_.to_numpy(), model.labels_)
    np.testing.assert_allclose(ours, model.cluster_persistence_, rtol=1e-9)


def test_community_ids_are_content_hashes():
    ids = community_ids(["a", "a", "b"], [["m2", "m1"], ["m1", "m2"], ["m1", "m2"]])
    assert ids[0] == ids[1]  # member order does not matter
    assert ids[0] != ids[2]  # the scope does
    assert all(i.startswith("c_") and len(i) == 14 for i in ids)
    assert community_ids(["a"], [["m1", "m3"]]) != ids[:1]


def test_assign_communities_per_scope_records_noise():
    x, _ = blobs(sizes=(12, 12), dim=4)
    x = np.vstack([x, x[:3] + 5.0, [[9.0, -9.0, 9.0, -9.0]]])  # scope b: 3 points + 1 stray
    members = pl.DataFrame(
        {"member_id": [f"m{i:02d}" for i in range(len(x))], "scope": ["a"] * 24 + ["b"] * 4}
    )
    ms, everything, centroids = assign_communities(
        members, x, backend="hdbscan", pca_dim=3, min_cluster_size=5, min_samples=3
    )
    assert ms.height == 2 * 28  # every member has a row per level, noise included
    # scope a (24 members) is a forum; scope b (4) is below min_forum_members: nothing there
    assert everything.filter(pl.col("level") == "forum")["size"].to_list() == [24]
    sub_level = (everything["level"] == "sub").to_numpy()
    found, centroids = everything.filter(pl.col("level") == "sub"), centroids[sub_level]
    assert ms.filter(pl.col("scope") == "b")["community_id"].to_list() == [None] * 8
    assert found.select("scope", "size").to_dicts() == [
        {"scope": "a", "size": 12},
        {"scope": "a", "size": 12},
    ]
    first = ms.filter(pl.col("community_id") == found["community_id"][0])["member_id"]
    assert first.to_list() == [f"m{i:02d}" for i in range(12)]
    assert found["community_id"].to_list() == community_ids(
        ["a", "a"], [first.to_list(), [f"m{i:02d}" for i in range(12, 24)]]
    )
    np.testing.assert_allclose(centroids[0], x[:12].mean(axis=0), rtol=1e-5)


def test_fingerprint_covers_members_vectors_and_params():
    members = pl.DataFrame({"member_id": ["m2", "m1", "m3"], "scope": ["a", "a", "b"]})
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    base = scope_fingerprints(members, vectors, params={"min_cluster_size": 10})
    assert sorted(base) == ["a", "b"] and all(len(f) == 64 for f in base.values())
    # row order does not matter, only which member has which vector
    shuffled = scope_fingerprints(
        members[[1, 0, 2]], vectors[[1, 0, 2]], params={"min_cluster_size": 10}
    )
    assert shuffled == base
    moved = vectors.copy()
    moved[2, 0] += 1e-6
    changed = scope_fingerprints(members, moved, params={"min_cluster_size": 10})
    assert changed["a"] == base["a"] and changed["b"] != base["b"]
    swapped = scope_fingerprints(members, vectors[[1, 0, 2]], params={"min_cluster_size": 10})
    assert swapped["a"] != base["a"] and swapped["b"] == base["b"]
    other = scope_fingerprints(members, vectors, params={"min_cluster_size": 11})
    assert other["a"] != base["a"] and other["b"] != base["b"]
