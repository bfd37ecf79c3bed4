"""Predictions on a release split → ``metrics.json``: the paper's metrics per task.

Per task: PI and CI ``accuracy``; DP ``kendall_tau`` (mean tau-b per instance), ``top1`` and
``jsd`` (mean Jensen-Shannon divergence in bits); CCG ``consistency``, ``win_rate`` and
``similarity`` (communitybench/evaluate/ccg.py) and, with a judge, ``judge_win_rate``. Each
metric has its value, n, a bootstrap 95% interval and breakdowns by community level and forum.

With ``allow_missing`` an instance without a prediction counts as wrong: accuracy and top-1 0,
Kendall tau -1, JSD 1 bit (its maximum), CCG similarity, margin and wins 0.
"""

from __future__ import annotations

from pathlib import Path

from communitybench.evaluate import ccg
from communitybench.evaluate.predictions import read_predictions
from communitybench.evaluate.release import TASKS, Release, forum_of, level_of
from transforms.metrics import METRICS_VERSION, aggregate, jsd_bits, kendall_tau_b, top1

WORST = {
    "accuracy": 0.0,
    "kendall_tau": -1.0,
    "top1": 0.0,
    "jsd": 1.0,
    "consistency": 0.0,
    "win_rate": 0.0,
    "similarity": 0.0,
    "judge_win_rate": 0.0,
}


def per_instance(task: str, row: dict, prediction) -> dict[str, float]:
    """The metrics of one non-CCG instance."""
    if task in ("pi", "ci"):
        return {"accuracy": float(prediction == row["label"])}
    target = row["distribution"]
    return {
        "kendall_tau": kendall_tau_b(prediction, target),
        "top1": top1(prediction, target),
        "jsd": jsd_bits(prediction, target),
    }


def score_rows(rows: list[dict], values: list[dict[str, float]]) -> dict:
    """Aggregate per-instance metric dicts (same order as ``rows``) with breakdowns."""
    levels, forums = [level_of(r) for r in rows], [forum_of(r) for r in rows]
    names = list(values[0]) if values else []
    return {
        name: aggregate([v[name] for v in values], levels=levels, forums=forums) for name in names
    }


def score_task(
    task: str, rows: list[dict], predictions: dict, *, ccg_values: dict | None = None
) -> dict:
    """Metrics of one task: each instance's prediction, or the worst value when it has none."""
    values = []
    for row in rows:
        iid = row["instance_id"]
        if task == "ccg":
            got = (ccg_values or {}).get(iid)
        else:
            got = per_instance(task, row, predictions[iid]) if iid in predictions else None
        if got is None:
            got = {name: WORST[name] for name in _metric_names(task, ccg_values)}
        values.append(got)
    return {
        "n_instances": len(rows),
        "n_predicted": sum(1 for r in rows if r["instance_id"] in predictions),
        **score_rows(rows, values),
    }


def _metric_names(task: str, ccg_values: dict | None) -> list[str]:
    if task in ("pi", "ci"):
        return ["accuracy"]
    if task == "dp":
        return ["kendall_tau", "top1", "jsd"]
    sample = next(iter((ccg_values or {}).values()), None)
    return list(sample) if sample else ["consistency", "win_rate", "similarity"]


def evaluate_predictions(
    release: Release,
    predictions_path: Path,
    *,
    split: str = "test",
    allow_missing: bool = False,
    judge=None,
    progress: bool = False,
) -> dict:
    """Check ``predictions_path`` against the release split and score every task it covers.

    Args:
        judge: An optional ``ccg.Judge`` (LLM pairwise judge) for CCG.
    """
    instances = {
        task: {r["instance_id"]: r for r in release.instances(task, split)} for task in TASKS
    }
    checked = read_predictions(predictions_path, instances, allow_missing=allow_missing)
    out: dict = {
        "release": release.version,
        "split": split,
        "metrics_version": METRICS_VERSION,
        "predictions": str(predictions_path),
        "missing": {t: len(ids) for t, ids in checked.missing.items()},
        "skipped_tasks": [t for t in TASKS if t not in checked.by_task],
    }
    for task in TASKS:
        if task not in checked.by_task:
            continue
        rows, preds = list(instances[task].values()), checked.by_task[task]
        ccg_values = None
        if task == "ccg":
            ccg_values = ccg.score_generations(release, rows, preds, judge=judge, progress=progress)
        out[task] = score_task(task, rows, preds, ccg_values=ccg_values)
    out["summary"] = {
        f"{task}.{name}": metrics[name]["value"]
        for task in TASKS
        if isinstance(metrics := out.get(task), dict)
        for name in metrics
        if isinstance(metrics[name], dict)
    }
    return out
