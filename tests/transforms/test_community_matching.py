"""transforms.community_matching: stable ids from the previous build's communities."""

from __future__ import annotations

import re

import numpy as np
import pytest

from transforms.community_matching import CommunitySet, kept_lineage, match_communities


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


def test_a_new_community_never_takes_a_reserved_id():
    # its content hash is the id of a community of a reused scope: it gets a fresh one
    prev = cs([], [], np.zeros((0, 2)))
    cur = cs(["c_taken"], [["a", "b"]], [[1, 0]])
    out = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95, reserved={"c_taken"})
    [row] = out.to_dicts()
    assert row["status"] == "new" and row["provisional_id"] == "c_taken"
    assert re.fullmatch(r"c_[0-9a-f]{12}", row["community_id"])
    again = match_communities(prev, cur, min_jaccard=0.3, min_cosine=0.95, reserved={"c_taken"})
    assert again.equals(out)  # deterministic


def test_kept_lineage_is_what_matching_a_community_with_itself_gives():
    reused = cs(["c_a", "c_b"], [["m1", "m2"], ["m3"]], [[1, 0], [0.6, 0.8]], scopes=["s", "t"])
    kept = kept_lineage(reused)
    matched = match_communities(reused, reused, min_jaccard=0.3, min_cosine=0.95)
    assert kept.equals(matched)
    assert kept.select("status", "jaccard", "centroid_cosine").rows() == [
        ("kept", 1.0, pytest.approx(1.0)),
        ("kept", 1.0, pytest.approx(1.0)),
    ]
