"""Task instances: stable ids, PI/DP/CCG/CI rules, CI candidates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transforms.tasks import (
    build_instances,
    choose_ci_candidates,
    count_instances,
    make_instance_id,
    top_references,
)

CENTROIDS = {
    "a": np.array([1.0, 0.0]),
    "a_near": np.array([0.95, 0.05]),
    "a_next": np.array([0.8, 0.2]),
    "far1": np.array([0.0, 1.0]),
    "far2": np.array([-1.0, 0.0]),
    "far3": np.array([0.0, -1.0]),
}


def test_instance_id_is_deterministic_and_task_specific():
    one = make_instance_id("pi", community_id="c", query_id="t3_q", option_ids=["t1_a", "t1_b"])
    assert one == make_instance_id(
        "pi", option_ids=["t1_a", "t1_b"], query_id="t3_q", community_id="c"
    )
    assert one != make_instance_id(
        "dp", community_id="c", query_id="t3_q", option_ids=["t1_a", "t1_b"]
    )
    assert len(one) == 20 and int(one, 16) >= 0


@pytest.mark.parametrize("true_id", sorted(CENTROIDS))
def test_ci_candidates_hold_the_true_community_exactly_once(true_id):
    for key in ("k1", "k2", "k3"):
        ids, label, n_hard = choose_ci_candidates(
            true_id, centroids=CENTROIDS, n_candidates=4, n_hard=2, seed=0, key=key
        )
        assert len(ids) == len(set(ids)) == 4
        assert ids.count(true_id) == 1 and ids[label] == true_id
        assert n_hard == 2 and true_id not in [c for i, c in enumerate(ids) if i != label]


def test_ci_hard_distractors_are_nearest_and_draws_are_deterministic():
    ids, label, _ = choose_ci_candidates(
        "a", centroids=CENTROIDS, n_candidates=4, n_hard=2, seed=3, key="q"
    )
    assert {"a_near", "a_next"} <= set(ids)
    again = choose_ci_candidates(
        "a", centroids=CENTROIDS, n_candidates=4, n_hard=2, seed=3, key="q"
    )
    assert again == (ids, label, 2)
    small = {k: CENTROIDS[k] for k in ("a", "far1")}
    ids, label, n_hard = choose_ci_candidates(
        "a", centroids=small, n_candidates=4, n_hard=2, seed=0, key="q"
    )
    assert sorted(ids) == ["a", "far1"] and n_hard == 1


def _option_set(thread, community, dist, margin, degenerate, robust=True):
    return {
        "thread_id": thread,
        "community_id": community,
        "level": "sub",
        "subreddit": "sub",
        "option_ids": ["t1_x", "t1_y", "t1_z"],
        "option_texts": ["x", "y", "z"],
        "query_title": "Q?",
        "query_body": "",
        "distribution": dist,
        "estimator": "dirichlet_score",
        "label": int(np.argmax(dist)),
        "margin": margin,
        "label_robust": robust,
        "degenerate": degenerate,
    }


def test_build_instances_applies_the_task_rules():
    sets = [
        _option_set("s1", "a", [0.6, 0.3, 0.1], 0.3, False),
        _option_set("s2", "far1", [0.36, 0.34, 0.30], 0.02, False),
        _option_set("s3", "a", [0.96, 0.02, 0.02], 0.94, True),
        _option_set("s4", "a", [0.5, 0.3, 0.2], 0.2, True, robust=False),
    ]
    profiles = {c: {"summary": f"profile {c}"} for c in CENTROIDS}
    refs = top_references(
        [
            {"thread_id": "s1", "option_id": "t1_x", "body": "x", "score": 9},
            {"thread_id": "s1", "option_id": "t1_w", "body": "w", "score": 12},
            {"thread_id": "s2", "option_id": "t1_y", "body": "y", "score": 0},
        ],
        n=3,
    )
    assert refs == {"s1": [("t1_w", "w"), ("t1_x", "x")]}
    rows, skipped = build_instances(
        sets,
        profiles=profiles,
        references=refs,
        centroids=CENTROIDS,
        pi_margin=0.1,
        ci_candidates=4,
        ci_hard=2,
        seed=0,
    )
    assert [r["thread_id"] for r in rows["pi"]] == ["s1", "s3"]
    assert [r["thread_id"] for r in rows["dp"]] == ["s1", "s2"]
    assert [r["thread_id"] for r in rows["ccg"]] == ["s1"]
    assert rows["ccg"][0]["reference_ids"] == ["t1_w", "t1_x"]
    assert skipped == {
        "pi": {"margin_below_pi_margin": 1, "label_not_robust_to_exposure": 1},
        "dp": {"degenerate": 2},
        "ccg": {"no_endorsed_reply": 3},
        "ci": {"degenerate": 2},
    }
    pi = rows["pi"][0]
    assert pi["label"] == 0 and pi["query_id"] == "t3_s1" and pi["k"] == 3
    assert json.loads(pi["profile"]) == {"summary": "profile a"}
    for ci in rows["ci"]:
        assert ci["candidate_ids"][ci["label"]] == ci["community_id"]
        assert [p["summary"] for p in json.loads(ci["candidate_profiles"])] == [
            f"profile {c}" for c in ci["candidate_ids"]
        ]
    ids = {r["instance_id"] for task in rows.values() for r in task}
    assert len(ids) == sum(len(task) for task in rows.values())
    counts = count_instances(rows)
    assert counts["per_task"] == {"pi": 2, "dp": 2, "ccg": 1, "ci": 2}
    assert counts["per_community"]["a"] == {"pi": 2, "dp": 1, "ccg": 1, "ci": 1}
