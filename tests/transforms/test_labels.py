"""Thread ownership, option selection and the two distribution estimators."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.labels import (
    BETA_UPDOWN,
    DIRICHLET_SCORE,
    assign_thread_ownership,
    beta_approval,
    build_distributions,
    build_option_sets,
    dirichlet_vote_share,
    estimate_distribution,
    is_degenerate,
    jensen_shannon,
    select_options,
    top_margin,
)


def test_dirichlet_vote_share_by_hand_with_zero_and_negative_scores():
    # a0 = 1: (1 + max(s, 0)) = 4, 1, 1, 11 -> / 17
    p = dirichlet_vote_share([3, 0, -2, 10], a0=1.0)
    assert p == pytest.approx([4 / 17, 1 / 17, 1 / 17, 11 / 17])
    # a0 = 0.5, all scores <= 0: the prior alone -> uniform
    assert dirichlet_vote_share([0, -5, -1], a0=0.5) == pytest.approx([1 / 3] * 3)


def test_beta_approval_by_hand():
    # a0 = 1, b0 = 1: r = (1+U)/(2+U+D) = 11/14, 1/2, 4/10 -> normalised by their sum
    r = np.array([11 / 14, 1 / 2, 4 / 10])
    p = beta_approval([10, 0, 3], [2, 0, 5], a0=1.0, b0=1.0)
    assert p == pytest.approx(r / r.sum())
    assert p == pytest.approx([0.466102, 0.296610, 0.237288], abs=1e-6)
    # a0 = 2, b0 = 3, no votes at all -> every r = 2/5 -> uniform
    assert beta_approval([0, 0], [0, 0], a0=2.0, b0=3.0) == pytest.approx([0.5, 0.5])


def test_estimate_distribution_uses_updown_only_when_known():
    kwargs = {"scores": [8, -3, 0], "ups": [10, 1, 2], "downs": [2, 4, 2], "a0": 1.0, "b0": 1.0}
    p, estimator, votes = estimate_distribution(updown_known=False, **kwargs)
    assert estimator == DIRICHLET_SCORE and votes == 8
    assert p == pytest.approx([9 / 11, 1 / 11, 1 / 11])
    p, estimator, votes = estimate_distribution(updown_known=True, **kwargs)
    r = np.array([11 / 14, 2 / 7, 3 / 6])
    assert estimator == BETA_UPDOWN and votes == 21
    assert p == pytest.approx(r / r.sum())


def test_top_margin_and_degenerate():
    assert top_margin([0.2, 0.5, 0.3]) == (1, pytest.approx(0.2))
    assert top_margin([0.4, 0.4, 0.2]) == (0, pytest.approx(0.0))
    assert is_degenerate([0.5, 0.5], n_votes=2, max_share=0.95, min_votes=5)
    assert is_degenerate([0.97, 0.03], n_votes=100, max_share=0.95, min_votes=5)
    assert not is_degenerate([0.6, 0.4], n_votes=100, max_share=0.95, min_votes=5)


def test_jensen_shannon_in_bits():
    assert jensen_shannon([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert jensen_shannon([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)


def _commenters(rows):
    return pl.DataFrame(
        [dict(zip(("thread_id", "member_id", "community_id"), r, strict=True)) for r in rows]
    ).with_columns(pl.lit("sub").alias("subreddit"))


def test_thread_ownership_share_threshold_min_members_and_ties():
    rows = [("t1", m, "A") for m in "abc"] + [("t1", "d", "B"), ("t1", "a", "A")]  # repeat
    rows += [("t2", "a", "A"), ("t2", "b", "A"), ("t2", "d", "B"), ("t2", "e", "B")]  # tie
    rows += [("t3", "a", "A"), ("t3", "b", "A")]  # share 1.0 but only two members
    out = assign_thread_ownership(_commenters(rows), own_share=0.5, own_min=3)
    t1 = out.filter(pl.col("thread_id") == "t1").sort("community_id")
    assert t1["n_members"].to_list() == [3, 1]
    assert t1["share"].to_list() == pytest.approx([0.75, 0.25])
    assert t1["is_owner"].to_list() == [True, False]
    owners = out.filter("is_owner")["thread_id"].to_list()
    assert owners == ["t1"]  # t2 is a tie, t3 has too few members


def test_select_options_window_guard_and_divergence():
    vectors = np.array([[1, 0], [1, 0.01], [0, 1], [-1, 0], [0, -1]], dtype=float)
    common = {"sentiment": np.zeros(5), "scores": np.array([5, 5, 5, 5, 5])}
    chosen = select_options(
        vectors=vectors,
        created_s=np.array([0, 10, 20, 30, 100_000]),
        k=3,
        k_min=3,
        window_s=3600,
        max_pool=10,
        weights=(1.0, 1.0, 1.0),
        **common,
    )
    # the late reply (index 4) is outside the window; the near-duplicate pair is avoided
    assert sorted(chosen["indices"]) in ([0, 2, 3], [1, 2, 3])
    assert chosen["span_s"] <= 3600
    # no 4 replies fit in the window -> falls back to 3; none of size 3 fits -> None
    four = select_options(
        vectors=vectors,
        created_s=np.array([0, 10, 20, 30, 100_000]),
        k=4,
        k_min=3,
        window_s=3600,
        max_pool=10,
        weights=(1.0, 1.0, 1.0),
        **common,
    )
    assert len(four["indices"]) == 4
    spread = select_options(
        vectors=vectors,
        created_s=np.array([0, 5000, 10_000, 15_000, 20_000]),
        k=3,
        k_min=3,
        window_s=3600,
        max_pool=10,
        weights=(1.0, 1.0, 1.0),
        **common,
    )
    assert spread is None


def test_select_options_prefers_popularity_and_sentiment_contrast():
    chosen = select_options(
        vectors=np.ones((4, 2)),
        sentiment=np.array([0.9, 0.0, -0.9, 0.0]),
        scores=np.array([100, 10, 1, 10]),
        created_s=np.zeros(4),
        k=3,
        k_min=3,
        window_s=60,
        max_pool=10,
        weights=(1.0, 1.0, 1.0),
    )
    assert 0 in chosen["indices"] and 2 in chosen["indices"]
    assert chosen["affective"] == pytest.approx(0.9)
    assert chosen["popularity"] == pytest.approx((np.log(101) - np.log(2)) / np.log(101))


def _candidates(thread: str, n: int, updown: bool = False, exposure=None) -> list[dict]:
    return [
        {
            "thread_id": thread,
            "community_id": "A",
            "subreddit": "sub",
            "option_id": f"t1_{thread}{i}",
            "body": f"reply {i}",
            "score": 10 * i - 5,
            "ups": 3 * i,
            "downs": i,
            "created_s": 60.0 * i,
            "sentiment": 0.1 * i,
            "vector": [float(i == j) for j in range(6)],
            "updown_known": updown,
            "delay_s": 60.0 * i + 30.0,
            "reply_rank": i,
            "length": 7,
            "expected_exposure": 1.0 if exposure is None else exposure[i],
        }
        for i in range(n)
    ]


def test_build_option_sets_and_distributions():
    rows = _candidates("x", 6) + _candidates("y", 2) + _candidates("z", 4, updown=True)
    sets, skipped = build_option_sets(
        pl.DataFrame(rows), k=4, k_min=3, window_s=3600, max_pool=10, weights=(1.0, 1.0, 1.0)
    )
    assert skipped == {"too_few_candidates": 1, "no_comparable_subset": 0}
    assert sets["thread_id"].to_list() == ["x", "z"]
    assert sets["k"].to_list() == [4, 4]
    again, _ = build_option_sets(
        pl.DataFrame(rows[::-1]),
        k=4,
        k_min=3,
        window_s=3600,
        max_pool=10,
        weights=(1.0, 1.0, 1.0),
    )
    assert again.sort("thread_id")["option_ids"].to_list() == sets["option_ids"].to_list()
    dists = build_distributions(sets, a0=1.0, b0=1.0, max_share=0.95, min_votes=5)
    # equal exposure: the adjusted estimate is the raw one, under the _exposure name
    assert dists["estimator"].to_list() == [
        DIRICHLET_SCORE + "_exposure",
        BETA_UPDOWN + "_exposure",
    ]
    assert dists["estimator_raw"].to_list() == [DIRICHLET_SCORE, BETA_UPDOWN]
    for p, raw in zip(dists["distribution"], dists["distribution_raw"], strict=True):
        assert p.to_list() == pytest.approx(raw.to_list())
    assert dists["label_robust"].to_list() == [True, True]
    for p in dists["distribution"].to_list():
        assert sum(p) == pytest.approx(1.0)
    z = sets.row(1, named=True)
    expected = beta_approval(z["ups"], z["downs"], a0=1.0, b0=1.0)
    assert dists["distribution"][1].to_list() == pytest.approx(list(expected))
    assert dists["label"][1] == int(np.argmax(expected))
