"""The shortcut audit: baseline accuracy against chance with a Wilson interval, the gate rule,
and grouping option rows into instances."""

from __future__ import annotations

import math

import pytest

from transforms.shortcuts import (
    apply_gate,
    audit_row,
    gate_failures,
    group_instances,
    score_baselines,
)


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (z = 1.96: 95%)."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_audit_row_figures_by_hand():
    row = audit_row("pi", "test", "earliest", 15, [4] * 30)
    low, high = wilson(15, 30)
    assert (row["n"], row["hits"], row["accuracy"], row["chance"]) == (30, 15, 0.5, 0.25)
    assert row["lift"] == pytest.approx(0.25)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-6)
    assert row["p_value"] < 0.01
    mixed = audit_row("dp", "test", "fixed_first", 1, [3, 5])
    assert mixed["chance"] == pytest.approx((1 / 3 + 1 / 5) / 2)


def _instance(label: int, created: list[int], texts: list[str]) -> dict:
    options = [
        {"text": t, "created_utc": c, "delay_s": c - 100.0, "reply_rank": r, "sentiment": 0.0}
        for r, (c, t) in enumerate(zip(created, texts, strict=True))
    ]
    return {"options": options, "query": {"vector": None}, "label": label}


def test_a_baseline_far_above_chance_blocks_and_is_named():
    # 40 instances of 4 options; the earliest reply (position varies) is always the label
    instances = []
    for i in range(40):
        first = i % 4
        created = [200 + 10 * ((p - first) % 4) for p in range(4)]
        texts = ["x" * (10 + 7 * ((p + i) % 4)) for p in range(4)]
        instances.append(_instance(first, created, texts))
    rows = {
        r["baseline"]: r
        for r in apply_gate(score_baselines(instances, task="pi", split="test"), max_lift=0.1)
    }
    assert rows["earliest"]["accuracy"] == 1.0 and rows["earliest"]["blocks"]
    assert rows["latest"]["accuracy"] == 0.0 and not rows["latest"]["blocks"]
    # positions: the label sits at each position 10 times out of 40 -> exactly chance
    for name in ("fixed_first", "fixed_1", "fixed_2", "fixed_3"):
        assert rows[name]["accuracy"] == 0.25 and not rows[name]["blocks"]
    assert "most_similar_query" not in rows and "highest_exposure" not in rows  # no fields
    [line] = [f for f in gate_failures(list(rows.values())) if "'earliest'" in f]
    assert line.startswith("pi/test: baseline 'earliest' accuracy 1.000 (40/40, 95% CI 0.912")
    assert "chance 0.250: lift +0.750 > max_shortcut_lift 0.10" in line and "family-wise" in line


def test_lift_without_an_interval_above_chance_does_not_block():
    # 2 of 4 right at chance 1/4: lift 0.25 but the interval reaches far below chance
    instances = [_instance(0, [1, 2, 3, 4], ["a", "b", "c", "d"]) for _ in range(2)]
    instances += [_instance(1, [1, 2, 3, 4], ["a", "b", "c", "d"]) for _ in range(2)]
    rows = {
        r["baseline"]: r
        for r in apply_gate(score_baselines(instances, task="pi", split="test"), max_lift=0.1)
    }
    assert rows["earliest"]["lift"] == 0.25 and rows["earliest"]["ci_low"] < 0.25
    assert not rows["earliest"]["blocks"]
    assert not any("'earliest'" in line for line in gate_failures(list(rows.values())))


def test_group_instances_orders_options_by_position():
    base = {"task": "pi", "instance_id": "i", "label": 1, "query_vector": [1.0, 0.0]}
    fields = {"created_utc": 1.0, "delay_s": 1.0, "reply_rank": 0, "expected_exposure": 2.0}
    rows = [
        {**base, **fields, "position": 1, "text": "b", "sentiment": 0.1, "vector": [0.0, 1.0]},
        {**base, **fields, "position": 0, "text": "a", "sentiment": 0.2, "vector": [1.0, 0.0]},
    ]
    [(key, inst)] = group_instances(rows).items()
    assert key == ("pi", "i") and inst["label"] == 1
    assert [o["text"] for o in inst["options"]] == ["a", "b"]
    assert inst["query"]["vector"] == [1.0, 0.0]


def test_the_gate_reads_a_family_wise_interval():
    # 14/30 at chance 1/4: lift 0.22 and the per-row 95% interval (0.302) above chance, but
    # at confidence 1 - 0.05/28 the lower end falls below chance: no block among 28 rows
    row = audit_row("pi", "test", "fixed_1", 14, [4] * 30)
    others = [audit_row("pi", "test", f"b{i}", 8, [4] * 30) for i in range(27)]
    gated = apply_gate([row, *others], max_lift=0.1)
    z = 3.1237  # two-sided normal quantile at 1 - 0.05 / 28 / 2
    assert row["ci_low"] > row["chance"] and row["lift"] > 0.1
    assert gated[0]["ci_low_family"] == pytest.approx(wilson(14, 30, z)[0], abs=1e-3)
    assert gated[0]["ci_low_family"] < row["chance"] and not gated[0]["blocks"]
    # alone, the same row blocks: one row, so the family-wise interval is the 95% one
    [alone] = apply_gate([row], max_lift=0.1)
    assert alone["ci_low_family"] == pytest.approx(row["ci_low"]) and alone["blocks"]
