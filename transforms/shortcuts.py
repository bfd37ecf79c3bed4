"""Shortcut audit: how well community-blind baselines answer a task's test split.

A benchmark of community preference is only that when nothing community-blind answers it: if
"pick the earliest reply" (exposure), "pick the longest" or "pick position 0" beats chance by a
wide margin, a model can score without modelling any community. Every build scores the
predictors of ``transforms/baselines.py`` (plus every fixed position) on each option-choice
task's test split, with a Wilson 95% interval on the accuracy, and the release gate fails when
a baseline beats chance by more than ``max_lift`` with the interval above chance. The gate
reads the interval at a family-wise 95% (Bonferroni over the m baselines x tasks of a build:
confidence 1 - 0.05 / m): with ~28 rows, per-row 95% intervals put some fixed position above
chance on a small test split in a fair share of builds (seen: position 1, 14/30 at chance 0.27,
on a demo seed whose labels sit at position 1 in 27.7% of all instances).

Chance is the mean of 1/k over the instances a baseline answered; the interval and the
binomial test treat it as one success probability (exact when every instance has the same k).

Pure functions over plain rows (no I/O, no clock).
"""

from __future__ import annotations

from scipy.stats import binomtest

from transforms.baselines import PREDICTORS, chance, fixed_position, missing_fields

SHORTCUTS_VERSION = "shortcut_audit_v1"
MAX_K = 5  # fixed positions 1..MAX_K-1 join fixed_first (position 0)


def audit_predictors() -> dict:
    """Every community-blind predictor the audit scores, by name."""
    extra = {f"fixed_{p}": fixed_position(p) for p in range(1, MAX_K)}
    return {**PREDICTORS, **extra}


def score_baselines(instances: list[dict], *, task: str, split: str) -> list:
    """One audit row per baseline that could answer at least one instance.

    Args:
        instances: {"options": [option dicts], "query": {...}, "label": int} per instance.
        task: The task the instances belong to.
        split: Their split.
    """
    rows = []
    for name, predict in audit_predictors().items():
        usable = [i for i in instances if not _missing(name, predict, i)]
        if not usable:
            continue
        hits = sum(predict(i["options"], i["query"]) == i["label"] for i in usable)
        rows.append(audit_row(task, split, name, hits, [len(i["options"]) for i in usable]))
    return rows


def apply_gate(rows: list[dict], *, max_lift: float, alpha: float = 0.05) -> list[dict]:
    """Rows with ``ci_low_family`` (Bonferroni over all rows), ``max_lift`` and ``blocks``:
    accuracy above chance by more than ``max_lift`` with the family-wise interval above chance.
    """
    confidence = 1 - alpha / max(len(rows), 1)
    out = []
    for row in rows:
        test = binomtest(row["hits"], row["n"], row["chance"])
        low = float(test.proportion_ci(confidence_level=confidence, method="wilson").low)
        blocks = row["lift"] > max_lift and low > row["chance"]
        out.append({**row, "ci_low_family": low, "max_lift": max_lift, "blocks": blocks})
    return out


def _missing(name: str, predict, instance: dict) -> list[str]:
    if name in PREDICTORS:
        return missing_fields(name, instance["options"], instance["query"])
    return []  # fixed positions need nothing


def audit_row(task: str, split: str, baseline: str, hits: int, ks: list[int]) -> dict:
    """Accuracy, chance, lift, Wilson 95% interval and two-sided binomial p-value."""
    n, p0 = len(ks), chance(ks)
    test = binomtest(int(hits), n, p0)
    interval = test.proportion_ci(confidence_level=0.95, method="wilson")
    accuracy = hits / n
    return {
        "task": task,
        "split": split,
        "baseline": baseline,
        "n": n,
        "hits": int(hits),
        "accuracy": accuracy,
        "chance": p0,
        "lift": accuracy - p0,
        "ci_low": float(interval.low),
        "ci_high": float(interval.high),
        "p_value": float(test.pvalue),
        "version": SHORTCUTS_VERSION,
    }


def gate_failures(rows: list[dict]) -> list[str]:
    """One line per blocking baseline: its task, split and figures."""
    return [
        f"{r['task']}/{r['split']}: baseline {r['baseline']!r} accuracy {r['accuracy']:.3f} "
        f"({r['hits']}/{r['n']}, 95% CI {r['ci_low']:.3f}-{r['ci_high']:.3f}, family-wise "
        f"lower end {r['ci_low_family']:.3f}) vs chance {r['chance']:.3f}: lift "
        f"{r['lift']:+.3f} > max_shortcut_lift {r['max_lift']:.2f}"
        for r in rows
        if r["blocks"]
    ]


def group_instances(option_rows: list[dict]) -> dict[tuple[str, str], dict]:
    """Per (task, instance_id): options (in position order), query and label.

    Args:
        option_rows: One row per option (``int_audit_options``): task, instance_id, label,
            position, text, created_utc, delay_s, reply_rank, expected_exposure, sentiment,
            vector, query_vector.
    """
    out: dict[tuple[str, str], dict] = {}
    fields = ("text", "created_utc", "delay_s", "reply_rank", "expected_exposure", "sentiment")
    for row in sorted(option_rows, key=lambda r: (r["task"], r["instance_id"], r["position"])):
        key = (row["task"], row["instance_id"])
        inst = out.setdefault(
            key, {"options": [], "query": {"vector": row["query_vector"]}, "label": row["label"]}
        )
        inst["options"].append({**{f: row[f] for f in fields}, "vector": row["vector"]})
    return out
