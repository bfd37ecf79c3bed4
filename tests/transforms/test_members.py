"""transforms.members: keyed pseudonyms and mean vectors per (author, scope)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.members import VectorMeans, build_member_vectors, member_table, pseudonymize


def test_pseudonymize_is_keyed_hmac_prefix():
    # hmac.new(b"secret", b"alice", hashlib.sha256).hexdigest()[:16]
    assert pseudonymize(["alice"], key="secret") == ["4360c67bc8102511"]
    assert pseudonymize(["alice"], key="other") != ["4360c67bc8102511"]
    assert pseudonymize(pl.Series(["alice", "bob", "alice"]), key="secret")[::2] == [
        "4360c67bc8102511",
        "4360c67bc8102511",
    ]


TEXTS = pl.DataFrame(
    {
        "author": ["ann", "ann", "bob", "ann", "bob", None, "cy"],
        "subreddit": ["a", "a", "a", "b", "a", "a", "a"],
    }
)
VECTORS = np.array(
    [[1, 0], [0, 1], [2, 2], [4, 4], [0, 0], [9, 9], [5, 5]],
    dtype=np.float32,
)


def test_member_vectors_per_subreddit():
    members, vectors = build_member_vectors(TEXTS, VECTORS, min_texts=2, scope="subreddit", key="k")
    ids = dict(zip(["ann", "bob"], pseudonymize(["ann", "bob"], key="k"), strict=True))
    rows = sorted(
        zip(members["author"], members["scope"], members["n_texts"], vectors.tolist(), strict=True)
    )
    assert rows == [("ann", "a", 2, [0.5, 0.5]), ("bob", "a", 2, [1.0, 1.0])]
    assert set(members["member_id"]) == set(ids.values())
    # rows come sorted by (scope, member_id) so downstream order never depends on the database
    assert members["member_id"].to_list() == sorted(ids.values())
    assert vectors.dtype == np.float32


def test_member_vectors_global_scope_pools_subreddits():
    members, vectors = build_member_vectors(TEXTS, VECTORS, min_texts=3, scope="global", key="k")
    assert members.select("author", "scope", "n_texts").to_dicts() == [
        {"author": "ann", "scope": "global", "n_texts": 3}
    ]
    np.testing.assert_allclose(vectors, [[5 / 3, 5 / 3]])


def test_member_vectors_none_qualify():
    members, vectors = build_member_vectors(
        TEXTS, VECTORS, min_texts=10, scope="subreddit", key="k"
    )
    assert members.height == 0
    assert vectors.shape == (0, 2)


def test_unknown_scope_is_an_error():
    with pytest.raises(ValueError, match="unknown scope"):
        build_member_vectors(TEXTS, VECTORS, min_texts=1, scope="thread", key="k")


def test_vector_means_accumulate_over_batches_by_hand():
    means = VectorMeans(3, 2)
    means.add(np.array([2, 0, 2]), np.array([[1, 1], [4, 0], [3, 5]], dtype=np.float32))
    means.add(np.array([0]), np.array([[0, 2]], dtype=np.float32))
    means.add(np.array([], dtype=np.int64), np.zeros((0, 2), dtype=np.float32))
    # group 0: (4,0),(0,2) -> (2,1); group 1: nothing -> zeros; group 2: (1,1),(3,5) -> (2,3)
    assert means.means().tolist() == [[2.0, 1.0], [0.0, 0.0], [2.0, 3.0]]
    assert means.counts.tolist() == [2, 0, 2]


def test_member_table_keeps_authors_with_enough_texts_sorted_by_scope_and_id():
    counts = pl.DataFrame(
        {
            "author": ["ann", "bob", None, "cy"],
            "scope": ["b", "a", "a", "a"],
            "n_texts": [3, 2, 9, 1],
        }
    )
    table = member_table(counts, min_texts=2, key="k")
    assert table.select("author", "scope", "n_texts").rows() == [("bob", "a", 2), ("ann", "b", 3)]
    assert table["member_id"].to_list() == pseudonymize(["bob", "ann"], key="k")
