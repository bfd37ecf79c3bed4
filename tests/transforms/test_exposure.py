"""The exposure model: both fits recover a planted exposure curve where votes are many, only the
Poisson fit where they are few (as on real threads); per-forum fits shrink towards the pooled
one; expected votes and the adjustment of counts by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.exposure import (
    FEATURES,
    POOLED,
    adjust_counts,
    expected_votes,
    exposure_features,
    fit_exposure,
    fit_level,
    fit_shape,
    fit_shape_poisson,
)
from transforms.labels import estimate_distribution

BETA = np.array([-0.8, 0.3, -0.6, 0.4])  # planted: decays with delay and rank


def planted_threads(
    n_threads: int, *, forum: str = "f", beta=BETA, seed: int = 0, votes: int = 300
) -> pl.DataFrame:
    """Threads of 3-8 replies whose votes are Multinomial(votes, softmax(x . beta)): exposure
    alone (every reply intrinsically equal)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_threads):
        n = int(rng.integers(3, 9))
        delays = np.sort(rng.uniform(60, 4 * 3600, n))
        x = exposure_features(delays, np.arange(n), np.full(n, n))
        share = np.exp(x @ beta) / np.exp(x @ beta).sum()
        counts = rng.multinomial(votes, share)
        rows += [
            {
                "forum": forum,
                "thread_id": f"{forum}{t}",
                "delay_s": float(delays[i]),
                "reply_rank": i,
                "n_replies": n,
                "votes": int(counts[i]),
            }
            for i in range(n)
        ]
    return pl.DataFrame(rows)


def test_features_by_hand():
    x = exposure_features([0, 7200, 10**7], [0, 1, 3], [4, 4, 4])
    assert x[:, 0].tolist() == [0.0, 2.0, 48.0]  # hours, capped at 48
    assert x[:, 1].tolist() == pytest.approx([0.0, np.log(3.0), np.log(49.0)])
    assert x[:, 2].tolist() == pytest.approx([0.0, np.log(2.0), np.log(4.0)])
    assert x[:, 3].tolist() == [0.0, 0.25, 0.75]
    assert len(FEATURES) == x.shape[1]


def curve_error(fit, frame: pl.DataFrame) -> float:
    """Largest error of the fitted log relative exposure over a grid of 8 replies (the curve,
    not the correlated coefficients)."""
    x = exposure_features(frame["delay_s"], frame["reply_rank"], frame["n_replies"])
    beta = fit(x, frame["votes"].to_numpy(), frame["thread_id"].to_numpy())
    grid = exposure_features(np.linspace(60, 4 * 3600, 8), np.arange(8), np.full(8, 8))
    fitted, planted = grid @ beta, grid @ BETA
    return float(np.abs((fitted - fitted[0]) - (planted - planted[0])).max())


def test_both_fits_recover_a_planted_exposure_curve_from_many_votes():
    frame = planted_threads(600)  # 300 votes per thread
    assert curve_error(fit_shape, frame) < 0.15
    assert curve_error(fit_shape_poisson, frame) < 0.15


def test_only_the_poisson_fit_recovers_it_from_few_votes():
    # 8 votes per thread of 3-8 replies, as on the real college sample (1.8 votes per reply):
    # log(votes + 0.5) is dominated by the +0.5 and flattens the curve (planted drop from the
    # first to the eighth reply: 3.6 in logs; the log-linear fit finds about 2.4)
    frame = planted_threads(600, votes=8)
    assert curve_error(fit_shape_poisson, frame) < 0.15
    assert curve_error(fit_shape, frame) > 0.8


def test_forum_fits_shrink_towards_the_pooled_fit():
    flat = planted_threads(200, forum="flat", beta=np.zeros(4), seed=1)
    steep = planted_threads(200, forum="steep", seed=2)
    both = pl.concat([flat, steep])
    free = {m["forum"]: m for m in fit_exposure(both, prior_replies=0.0)}
    tied = {m["forum"]: m for m in fit_exposure(both, prior_replies=1e9)}
    assert list(free) == [POOLED, "flat", "steep"]
    grid = exposure_features([600, 3 * 3600], [0, 5], [6, 6])
    drop = {f: float(np.diff(grid @ np.array(m["coefficients"]))[0]) for f, m in free.items()}
    assert abs(drop["flat"]) < 0.2 and drop["steep"] < -2.0  # each forum its own curve
    assert drop["steep"] < drop[POOLED] < drop["flat"]
    for forum in ("flat", "steep"):  # an overwhelming prior: every forum is the pooled curve
        assert tied[forum]["coefficients"] == pytest.approx(tied[POOLED]["coefficients"], abs=1e-3)
    assert free["flat"]["n_threads"] == 200 and free[POOLED]["n_replies"] == both.height
    assert {m["fit"] for m in free.values()} == {"loglinear"}  # the default, recorded per row
    poisson = fit_exposure(both, prior_replies=0.0, fit="poisson")
    assert {m["fit"] for m in poisson} == {"poisson"}
    with pytest.raises(ValueError, match="unknown exposure fit 'logit'"):
        fit_exposure(both, prior_replies=0.0, fit="logit")


def test_level_and_expected_votes_by_hand():
    a, b = fit_level([np.expm1(1.0), np.expm1(3.0)], [1, np.e**2])
    assert (a, b) == pytest.approx((1.0, 1.0))
    model = {
        "forum": POOLED,
        "coefficients": [0.0, 0.0, -1.0, 0.0],  # share proportional to 1 / (1 + rank)
        "level_intercept": float(np.log1p(30.0)),
        "level_slope": 0.0,
    }
    replies = pl.DataFrame(
        {
            "forum": ["unseen", "unseen"],
            "thread_id": ["t", "t"],
            "delay_s": [900.0, 60.0],
            "reply_rank": [1, 0],
            "n_replies": [2, 2],
        }
    )
    # thread total 30, shares 1 : 1/2 -> 20 and 10 (rows in their own order; unseen -> pooled)
    assert expected_votes(replies, [model]).tolist() == pytest.approx([10.0, 20.0])


def test_no_replies_expect_nothing_and_fit_the_prior():
    # a comments-only dump (the Pushshift head): no reply has its submission, so no candidates
    columns = ("forum", "thread_id", "delay_s", "reply_rank", "n_replies", "votes")
    types = (pl.String, pl.String, pl.Float64, pl.Int64, pl.Int64, pl.Int64)
    empty = pl.DataFrame(schema=dict(zip(columns, types, strict=True)))
    [pooled] = fit_exposure(empty, prior_replies=100.0)
    assert pooled["forum"] == POOLED and pooled["coefficients"] == [0.0] * len(FEATURES)
    assert pooled["n_threads"] == 0 and pooled["n_replies"] == 0
    assert expected_votes(empty, [pooled]).shape == (0,)


def test_adjusted_counts_and_distributions_by_hand():
    assert adjust_counts([10, 10], [2, 1]).tolist() == pytest.approx([20 / 3, 40 / 3])
    assert adjust_counts([10, 10], [4, 1], strength=0.5).tolist() == pytest.approx([20 / 3, 40 / 3])
    assert adjust_counts([0, 0], [1, 2]).tolist() == [0.0, 0.0]
    p, estimator, n = estimate_distribution(
        scores=[30, 10, -2],
        ups=[0] * 3,
        downs=[0] * 3,
        updown_known=False,
        a0=1.0,
        b0=1.0,
        exposure=[3.0, 1.0, 1.0],
    )
    # 30/3 : 10/1 : 0 -> 10 : 10 : 0, rescaled to 40 votes -> 20 : 20 : 0; prior +1 each
    assert estimator == "dirichlet_score_exposure" and n == 40
    assert p.tolist() == pytest.approx([21 / 43, 21 / 43, 1 / 43])
    p, estimator, n = estimate_distribution(
        scores=[0, 0],
        ups=[8, 2],
        downs=[2, 2],
        updown_known=True,
        a0=1.0,
        b0=1.0,
        exposure=[2.0, 1.0],
    )
    # U+D = 10 : 4 -> per exposure 5 : 4, rescaled to 14 -> 70/9 : 56/9; U, D scaled alike
    up = np.array([8 * 7 / 9, 2 * 14 / 9])
    down = np.array([2 * 7 / 9, 2 * 14 / 9])
    rates = (1 + up) / (2 + up + down)
    assert estimator == "beta_updown_exposure" and n == 14
    assert p.tolist() == pytest.approx((rates / rates.sum()).tolist())
