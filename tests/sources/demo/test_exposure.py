"""The demo plants exposure: observed votes favour early replies, truth stays intrinsic.

Checked on seed 23, a seed no other test builds (the session forum is seed 7), in the default
profile: the earliest reply tops the observed score far more often than it tops the planted
(intrinsic) preference, as on real threads (57-78% against ~25% chance).
"""

from __future__ import annotations

import numpy as np
import pytest

from communitybench.sources.demo.world import HOUR, generate_month, make_world, planted_exposure

HELD_OUT_SEED = 23


def test_planted_exposure_by_hand():
    e = planted_exposure([0, HOUR, 2 * HOUR], [100, 100, 100])
    assert e.tolist() == pytest.approx([1.0, np.exp(-1) / np.sqrt(2), np.exp(-2) / np.sqrt(3)])
    # rank follows posting order, not list order; longer replies get a mild boost
    e = planted_exposure([HOUR, 0], [200, 100])
    ratio = np.exp(-1) / np.sqrt(2) * (200 / 150) ** 0.1 / (100 / 150) ** 0.1
    assert e.tolist() == pytest.approx([ratio, 1.0])


def test_earliest_reply_tops_the_observed_score_far_more_than_the_intrinsic_preference():
    world = make_world(HELD_OUT_SEED, 1.0)
    month = generate_month(world, HELD_OUT_SEED, 1)
    observed = intrinsic = 0
    threads = [t for t in month.threads if t["kind"] == "thread"]
    for thread in threads:
        rows = [month.comments[c] for c in thread["options"]]
        first = int(np.argmin([r["created"] for r in rows]))
        observed += int(np.argmax([r["score"] for r in rows])) == first
        intrinsic += int(np.argmax(thread["p"])) == first
        assert thread["p"].sum() == pytest.approx(1.0)  # truth: the intrinsic preference
    observed, intrinsic = observed / len(threads), intrinsic / len(threads)
    print(
        f"\nseed {HELD_OUT_SEED}: earliest tops observed {observed:.3f}, intrinsic {intrinsic:.3f}"
    )
    assert len(threads) > 300
    assert observed >= intrinsic + 0.15
