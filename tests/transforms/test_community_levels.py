"""Community levels: topic removal, reply-graph smoothing, subsample stability, forum rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.communities import (
    LevelSettings,
    assign_communities,
    cluster_members,
    reduce_dimensions,
)
from transforms.community_levels import (
    bond_matrix,
    combine,
    forum_id,
    identity_vectors,
    stability,
)


def test_identity_removes_the_forum_topic():
    """Members share a big topic direction and differ along a small one: centring keeps only the
    difference, so the two stances end up far apart relative to their spread."""
    rng = np.random.default_rng(0)
    topic, stance = np.zeros(20), np.zeros(20)
    topic[0], stance[1] = 10.0, 1.0
    side = np.repeat([1.0, -1.0], 30)
    x = topic + side[:, None] * stance + rng.normal(scale=0.1, size=(60, 20))
    points = reduce_dimensions(identity_vectors(x, centre=True), dim=2)
    first = points[:, 0] * np.sign(points[0, 0])
    assert (first[:30] > 0).all() and (first[30:] < 0).all()


def test_combine_moves_members_towards_their_reply_partners():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0], [9.0, 9.0]])
    # member 0 replied twice to 1; 2 and 3 commented in one thread with 0
    graph = bond_matrix(
        4, (np.array([0]), np.array([1]), np.array([2])), (np.array([0, 2, 3]), np.array([0, 0, 0]))
    )
    out = combine(points, graph, 0.5)
    # 0's neighbours: 1 (weight 2), 2 and 3 (co-commenters of a 3-member thread: 1/2 each)
    mean0 = (2 * points[1] + 0.5 * points[2] + 0.5 * points[3]) / 3.0
    np.testing.assert_allclose(out[0], 0.5 * points[0] + 0.5 * mean0)
    np.testing.assert_allclose(out[1], 0.5 * points[1] + 0.5 * points[0])  # replied to by 0
    mean2 = (points[0] + points[3]) / 2.0
    np.testing.assert_allclose(out[2], 0.5 * points[2] + 0.5 * mean2)
    np.testing.assert_allclose(combine(points, graph, 0.0), points)


def test_stability_is_one_for_separated_groups_and_low_for_an_arbitrary_split():
    rng = np.random.default_rng(1)
    blobs = np.vstack([rng.normal(c, 0.05, size=(40, 2)) for c in ((0, 0), (5, 5))])
    labels = np.repeat([0, 1], 40)

    def cluster(points):
        return cluster_members(points, backend="hdbscan", min_cluster_size=10, min_samples=5).labels

    assert stability(blobs, labels, cluster, runs=4, fraction=0.8, seed=0) == pytest.approx(
        [1.0, 1.0]
    )
    cloud = rng.uniform(size=(200, 2))  # no structure: halves by x are not found again
    halves = (cloud[:, 0] > np.median(cloud[:, 0])).astype(int)
    assert stability(cloud, halves, cluster, runs=4, fraction=0.8, seed=0).max() < 0.5
    seeded = [stability(blobs, labels, cluster, runs=2, fraction=0.5, seed=3) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)  # seeded: the same subsamples


def test_every_scope_with_enough_members_is_a_forum_holding_its_subs():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(2, 16))
    vectors = np.vstack(
        [c + rng.normal(scale=0.02, size=(20, 16)) for c in centres] + [rng.normal(size=(5, 16))]
    )
    ids = [f"m{i:02d}" for i in range(45)]
    members = pl.DataFrame({"member_id": ids, "scope": ["big"] * 40 + ["small"] * 5})
    memberships, found, centroids = assign_communities(
        members,
        vectors,
        backend="hdbscan",
        pca_dim=5,
        min_cluster_size=10,
        min_samples=5,
        levels=LevelSettings(min_forum_members=10, min_stability=0.5),
    )
    forums = found.filter(pl.col("level") == "forum")
    assert forums.select("community_id", "scope", "size").rows() == [(forum_id("big"), "big", 40)]
    subs = found.filter(pl.col("level") == "sub")
    assert sorted(subs["size"]) == [20, 20] and set(subs["parent_id"]) == {forum_id("big")}
    assert subs["published"].all() and (subs["stability"] == 1.0).all()
    np.testing.assert_allclose(centroids[0], vectors[:40].mean(axis=0), atol=1e-6)
    rows = {(m, lv): c for m, _, lv, c, _ in memberships.iter_rows()}
    assert len(rows) == 2 * 45
    assert all(rows[(m, "forum")] == forum_id("big") for m in ids[:40])
    assert all(rows[(m, lv)] is None for m in ids[40:] for lv in ("forum", "sub"))  # too small
    first, second = {rows[(m, "sub")] for m in ids[:20]}, {rows[(m, "sub")] for m in ids[20:40]}
    assert len(first) == len(second) == 1 and first != second and None not in first | second


def test_a_forum_without_structure_has_no_subs_and_keeps_every_member():
    rng = np.random.default_rng(3)
    members = pl.DataFrame({"member_id": [f"m{i:02d}" for i in range(15)], "scope": ["flat"] * 15})
    memberships, found, _ = assign_communities(
        members,
        rng.normal(size=(15, 8)),
        backend="hdbscan",
        pca_dim=5,
        min_cluster_size=10,
        min_samples=5,
    )
    assert found.select("level", "size").rows() == [("forum", 15)]
    subs = memberships.filter(pl.col("level") == "sub")
    assert subs.height == 15 and subs["community_id"].null_count() == 15
