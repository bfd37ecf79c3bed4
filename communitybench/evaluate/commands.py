"""What ``communitybench evaluate`` and ``communitybench baselines`` do, below the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from communitybench.config import UsageError
from communitybench.evaluate.ccg import Judge
from communitybench.evaluate.chat import ChatConfig
from communitybench.evaluate.release import open_release
from communitybench.evaluate.runner import run_model
from communitybench.evaluate.score import evaluate_predictions


def evaluate(
    *,
    release: str,
    releases_dir: Path,
    out: Path,
    split: str = "test",
    predictions: Path | None = None,
    allow_missing: bool = False,
    model: ChatConfig | None = None,
    work_dir: Path | None = None,
    judge: ChatConfig | None = None,
    sample: int | None = None,
    progress: bool = True,
) -> dict:
    """Score a predictions file, or run ``model`` first and score its predictions.

    ``sample``: only that many instances per task (``Release.sampled``), e.g. for a slow local
    model; predictions for other instances are then unknown ids.
    """
    if (predictions is None) == (model is None):
        raise UsageError("evaluate needs exactly one of --predictions FILE or --model NAME")
    rel = open_release(release, releases_dir)
    if sample is not None:
        rel = rel.sampled(sample)
    judge_obj = None
    if judge is not None:
        cache = Path(out).with_name(Path(out).stem + ".judge_cache.jsonl")
        judge_obj = Judge(judge, cache_path=cache)
    run_stats = None
    if model is not None:
        work_dir = work_dir or Path(out).with_name(Path(out).stem + f".{_safe(model.model)}")
        predictions, run_stats = run_model(
            rel, model, split=split, work_dir=work_dir, progress=progress
        )
        allow_missing = True  # an answer that stayed invalid after repair counts as wrong
    metrics = evaluate_predictions(
        rel,
        Path(predictions),
        split=split,
        allow_missing=allow_missing,
        judge=judge_obj,
        progress=progress,
    )
    if sample is not None:
        metrics["sample"] = {"per_task": sample, "chosen_by": "sha256(instance_id), first"}
    if run_stats is not None:
        metrics["model_run"] = run_stats
    if judge is not None:
        metrics["judge"] = {"model": judge.model, "prompt": "eval/prompts/judge.txt"}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(metrics, indent=1))
    return metrics


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
