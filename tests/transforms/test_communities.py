"""transforms.communities and transforms.community_matching on tiny inline data."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.communities import (
    assign_communities,
    cluster_members,
    community_ids,
    reduce_dimensions,
    tree_persistence,
)
from transforms.community_matching import CommunitySet, match_communities


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
    ms, found, centroids = assign_communities(
        members, x, backend="hdbscan", pca_dim=3, min_cluster_size=5, min_samples=3
    )
    assert ms.height == 28  # every member has a row, noise included
    assert ms.filter(pl.col("scope") == "b")["community_id"].to_list() == [None] * 4
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


def cs(ids, members, centroids, scopes=None) -> CommunitySet:
    scopes = scopes or ["s"] * len(ids)
    return CommunitySet(ids, scopes, members, np.array(centroids, dtype=np.float32))


def test_match_keeps_ids_by_overlap_and_records_new_and_vanished():
    prev = cs(["c_old1", "c_old2", "c_gone"], [["a", "b", "c"], ["d", "e"], ["x", "y"]],
              [[1, 0], [0, 1], [-1, 0]])  # fmt: skip
    cur = cs(["c_new1", "c_new2", "c_new3"], [["a", "b", "c", "z"], ["d", "e"], ["p", "q"]],
             [[1, 0.1], [0, 1], [0.7, -0.7]])  # fmt: skip
    out = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95)
    rows = {r["community_id"]: r for r in out.to_dicts()}
    assert rows["c_old1"]["status"] == "kept" and rows["c_old1"]["provisional_id"] == "c_new1"
    assert rows["c_old1"]["jaccard"] == pytest.approx(0.75)
    assert rows["c_old2"]["match_method"] == "jaccard"
    assert rows["c_new3"]["status"] == "new" and rows["c_new3"]["matched_from"] is None
    assert rows["c_gone"]["status"] == "vanished" and rows["c_gone"]["size"] is None
    assert sorted(out["status"].to_list()) == ["kept", "kept", "new", "vanished"]


def test_match_falls_back_to_centroids_within_scope():
    # new member ids (e.g. another pseudonym key): no overlap, the centroids still match
    prev = cs(["c_p1", "c_p2"], [["a"], ["b"]], [[1, 0], [0, 1]], scopes=["s", "t"])
    cur = cs(["c_n1", "c_n2"], [["A"], ["B"]], [[0.99, 0.05], [1, 0]], scopes=["s", "t"])
    out = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95)
    cols = ("community_id", "provisional_id", "status", "match_method")
    assert out.select(cols).rows() == [
        ("c_p1", "c_n1", "kept", "centroid"),
        # c_n2 is as close to c_p1 as it gets, but c_p1 is in another scope
        ("c_n2", "c_n2", "new", None),
        ("c_p2", None, "vanished", None),
    ]


def test_match_below_threshold_is_new_and_first_build_is_all_new():
    prev = cs(["c_p"], [["a", "b", "c", "d"]], [[1, 0]])
    cur = cs(["c_n"], [["a", "x", "y", "z"]], [[0, 1]])
    out = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95)
    assert dict(zip(out["community_id"], out["status"], strict=True)) == {
        "c_n": "new",
        "c_p": "vanished",
    }
    first = match_communities(cs([], [], np.zeros((0, 2))), cur, min_jaccard=0.3, min_cosine=0.9)
    assert first.select("community_id", "status").to_dicts() == [
        {"community_id": "c_n", "status": "new"}
    ]


def test_match_is_one_to_one_best_first():
    # a split: both halves overlap the old community; the larger half inherits the id
    prev = cs(["c_p"], [list("abcdefgh")], [[1, 0]])
    cur = cs(["c_big", "c_small"], [list("abcde"), list("fgh")], [[1, 0], [1, 0.01]])
    out = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95)
    final = dict(zip(out["provisional_id"], out["community_id"], strict=True))
    assert final == {"c_big": "c_p", "c_small": "c_small"}
