"""Per-instance metrics by hand, the bootstrap interval and the breakdowns."""

from __future__ import annotations

import math

import pytest

from transforms.metrics import (
    aggregate,
    bootstrap_interval,
    breakdown,
    jsd_bits,
    kendall_tau_b,
    summarise,
    top1,
)


def test_kendall_tau_b_by_hand():
    # pairs (0,1) and (0,2) concordant, (1,2) discordant: (2 - 1) / 3
    assert kendall_tau_b([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    # one pair tied in x: n0 = 3, n1 = 1, n2 = 0 → (2 - 0) / sqrt(2 * 3)
    assert kendall_tau_b([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert kendall_tau_b([0.1, 0.2, 0.7], [0.7, 0.2, 0.1]) == pytest.approx(-1.0)
    # a constant side: undefined, counted as 0 (a uniform prediction orders nothing)
    assert kendall_tau_b([0.25] * 4, [0.1, 0.2, 0.3, 0.4]) == 0.0
    with pytest.raises(ValueError):
        kendall_tau_b([1, 2], [1, 2, 3])


def test_top1_and_jsd_by_hand():
    assert top1([0.2, 0.5, 0.3], [0.1, 0.6, 0.3]) == 1.0
    assert top1([1 / 3] * 3, [0.2, 0.5, 0.3]) == 0.0  # ties → the first option
    assert jsd_bits([1, 0], [0, 1]) == pytest.approx(1.0)
    assert jsd_bits([0.5, 0.5], [0.5, 0.5]) == 0.0
    # p = (1, 0), q = (.5, .5), m = (.75, .25): KL(p||m) = log2(4/3),
    # KL(q||m) = .5 log2(2/3) + .5 log2(2)
    by_hand = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    assert jsd_bits([1, 0], [0.5, 0.5]) == pytest.approx(by_hand)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    low, high = bootstrap_interval(values, seed=3)
    assert (low, high) == bootstrap_interval(values, seed=3)
    assert low < 0.7 < high and 0 <= low and high <= 1
    assert bootstrap_interval([0.4], seed=0) == (0.4, 0.4)
    assert bootstrap_interval([], seed=0) is None


def test_summaries_and_breakdowns():
    assert summarise([1, 0, 1, 1])["value"] == 0.75 and summarise([1, 0, 1, 1])["n"] == 4
    assert summarise([]) == {"value": None, "n": 0, "ci95": None}
    groups = breakdown([1, 0, 1, 1], ["b", "a", "b", "a"])
    assert list(groups) == ["a", "b"]
    assert groups["a"]["value"] == 0.5 and groups["b"]["value"] == 1.0
    out = aggregate([1, 0, 1], levels=["all"] * 3, forums=["x", "y", "x"])
    assert out["by_level"]["all"]["n"] == 3 and out["by_forum"]["y"]["value"] == 0.0
