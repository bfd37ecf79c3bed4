"""The paper's metrics per instance, their means with bootstrap intervals, and breakdowns.

Pure functions (no I/O, no clock): PI and CI accuracy, DP Kendall tau-b, top-1 agreement and
Jensen-Shannon divergence in bits, and a percentile bootstrap for any per-instance score. Every
aggregate carries ``n`` and a 95% interval, and breaks down by community level and by forum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from transforms.labels import jensen_shannon

METRICS_VERSION = "metrics_v1"
BOOTSTRAP_SAMPLES = 1000


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b between two score vectors (ties corrected), by its definition.

    tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2)) over all pairs, n1 and n2 the pairs tied in x and
    in y. When either vector is constant the coefficient is undefined; it counts as 0 here (a
    uniform prediction says nothing about the order), where ``scipy.stats.kendalltau`` says nan.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"kendall_tau_b needs equal lengths, got {x.shape} and {y.shape}")
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    n0 = len(i)
    tied_x, tied_y = int(np.sum(dx == 0)), int(np.sum(dy == 0))
    denominator = math.sqrt((n0 - tied_x) * (n0 - tied_y))
    if denominator == 0:
        return 0.0
    return float(np.sum(dx * dy) / denominator)


def top1(prediction: Sequence[float], target: Sequence[float]) -> float:
    """1.0 when the prediction's argmax is the target's argmax (first index on ties), else 0."""
    return float(int(np.argmax(prediction)) == int(np.argmax(target)))


def jsd_bits(prediction: Sequence[float], target: Sequence[float]) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint supports)."""
    return jensen_shannon(prediction, target)


def bootstrap_interval(
    values: Sequence[float], *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float] | None:
    """Percentile bootstrap 95% interval of the mean (instances resampled with replacement).

    None for no values; a single value gives a zero-width interval.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(samples, v.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def summarise(values: Sequence[float], *, seed: int = 0) -> dict:
    """Mean, n and bootstrap 95% interval of per-instance values."""
    v = [float(x) for x in values]
    interval = bootstrap_interval(v, seed=seed)
    return {
        "value": float(np.mean(v)) if v else None,
        "n": len(v),
        "ci95": list(interval) if interval else None,
    }


def breakdown(values: Sequence[float], groups: Sequence[str], *, seed: int = 0) -> dict:
    """``summarise`` per group label, groups sorted by name."""
    by: dict[str, list[float]] = {}
    for value, group in zip(values, groups, strict=True):
        by.setdefault(str(group), []).append(value)
    return {g: summarise(by[g], seed=seed) for g in sorted(by)}


def aggregate(values: Sequence[float], *, levels: Sequence[str], forums: Sequence[str]) -> dict:
    """The overall summary of one metric plus its breakdowns by community level and forum."""
    return {
        **summarise(values),
        "by_level": breakdown(values, levels),
        "by_forum": breakdown(values, forums),
    }
