"""Splits: deterministic, grouped, proportional, and near-duplicates kept together."""

from __future__ import annotations

import numpy as np

from transforms.splits import (
    assign_splits,
    cross_split_near_duplicates,
    leaking_groups,
    merge_near_duplicates,
    split_of,
)

FRACTIONS = (0.8, 0.1, 0.1)


def test_same_seed_same_split_and_seed_matters():
    keys = [f"thread{i}" for i in range(2000)]
    a = assign_splits(keys, seed=1, fractions=FRACTIONS)
    assert a == assign_splits(keys, seed=1, fractions=FRACTIONS)
    b = assign_splits(keys, seed=2, fractions=FRACTIONS)
    # independent draws differ with probability 1 - (0.8² + 0.1² + 0.1²) = 0.34
    assert 0.28 < sum(x != y for x, y in zip(a, b, strict=True)) / len(a) < 0.40
    counts = {s: a.count(s) for s in ("train", "dev", "test")}
    # 2000 draws: binomial sd ~ 13 for the 10% splits
    assert 1530 <= counts["train"] <= 1670 and 140 <= counts["dev"] <= 260


def test_split_of_is_a_pure_function_of_seed_and_key():
    import hashlib

    unit = int.from_bytes(hashlib.sha256(b"7:t3_abc").digest()[:8], "big") / 2**64
    expected = "train" if unit < 0.8 else "dev" if unit < 0.9 else "test"
    assert split_of("t3_abc", seed=7, fractions=FRACTIONS) == expected


def test_groups_never_leak():
    groups = ["g1", "g1", "g2", "g3", "g3", "g3"]
    splits = assign_splits(groups, seed=0, fractions=FRACTIONS)
    assert leaking_groups(groups, splits) == []
    assert leaking_groups(["a", "a"], ["train", "test"]) == ["a"]


def test_near_duplicates_merge_into_one_group():
    vectors = np.array([[1.0, 0.0], [0.999, 0.01], [0.0, 1.0], [0.7, 0.7]])
    mapping = merge_near_duplicates(["t4", "t2", "t3", "t1"], vectors, threshold=0.99)
    assert mapping == {"t4": "t2", "t2": "t2", "t3": "t3", "t1": "t1"}
    ids = ["q4", "q2", "q3", "q1"]
    assert cross_split_near_duplicates(
        ids, ["train", "test", "dev", "dev"], vectors, threshold=0.99
    ) == [("q4", "q2")]
    merged = [mapping[k] for k in ["t4", "t2", "t3", "t1"]]
    splits = assign_splits(merged, seed=3, fractions=FRACTIONS)
    assert cross_split_near_duplicates(ids, splits, vectors, threshold=0.99) == []


def test_near_duplicate_groups_are_connected_components():
    # a chain a~b~c (a and c are not near-duplicates themselves) is one group; d stands alone;
    # a key that repeats is one node, its rows joining what either row touches
    angle = np.deg2rad([0.0, 5.0, 10.0, 90.0, 10.0])
    vectors = np.stack([np.cos(angle), np.sin(angle)], axis=1) * [[1], [3], [0.5], [2], [1]]
    threshold = float(np.cos(np.deg2rad(6.0)))  # 5° apart: duplicates; 10°: not
    keys = ["c", "b", "a", "d", "e"]
    assert merge_near_duplicates(keys, vectors, threshold=threshold) == {
        "c": "a",
        "b": "a",
        "a": "a",
        "d": "d",
        "e": "a",  # same direction as "a"
    }
    # the representative is the smallest key of the group, whatever the row order
    order = [4, 2, 0, 3, 1]
    shuffled = merge_near_duplicates([keys[i] for i in order], vectors[order], threshold=threshold)
    assert shuffled == merge_near_duplicates(keys, vectors, threshold=threshold)
    repeated = merge_near_duplicates(["x", "y", "x"], vectors[[0, 3, 3]], threshold=threshold)
    assert repeated == {"x": "x", "y": "x"}
    assert merge_near_duplicates(["solo"], vectors[:1], threshold=threshold) == {"solo": "solo"}
