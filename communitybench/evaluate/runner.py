"""A chat model over a release split: the shipped prompts → JSON answers → predictions.

Every instance of the four tasks is asked once with the release's template (``prompts.py``);
answers are strict JSON with one repair turn and cached in ``<work>/answers.jsonl`` (a rerun or
an interrupted run asks only what is not there yet); valid answers become ``predictions.jsonl``,
which ``score.evaluate_predictions`` scores like any predictions file. An instance whose answer
stays invalid has no prediction and counts as wrong; the count per task is reported. An
endpoint that cannot be reached stops the run with `EndpointUnreachable` (what was answered
stays cached; the rerun resumes).
"""

from __future__ import annotations

import json
from pathlib import Path

from communitybench.evaluate import EndpointUnreachable, prompts
from communitybench.evaluate.chat import AnswerCache, ChatClient, ChatConfig
from communitybench.evaluate.release import TASKS, Release


def _check(task: str, row: dict):
    return lambda data: prompts.to_prediction(task, row, data)[1]


def run_model(
    release: Release,
    config: ChatConfig,
    *,
    split: str,
    work_dir: Path,
    tasks: tuple[str, ...] = TASKS,
    progress: bool = True,
) -> tuple[Path, dict]:
    """Ask the model every instance of ``tasks``; write ``predictions.jsonl``.

    Args:
        work_dir: Holds ``answers.jsonl`` (the cache) and ``predictions.jsonl``.

    Returns:
        The predictions file and accounting per task (asked, cached, repaired, invalid, failed)
        plus the response format the endpoint accepted and the HTTP requests made.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    templates = prompts.load_templates(release)
    client = ChatClient(config, AnswerCache(work_dir / "answers.jsonl"))
    lines, stats = [], {"model": config.model, "tasks": {}}
    for task in tasks:
        rows = release.instances(task, split)
        items = [
            (prompts.render(task, r, templates), prompts.schema(task, r), _check(task, r))
            for r in rows
        ]
        answers = client.ask_many(items, progress=progress, desc=f"{config.model} {task}")
        if client.unreachable:
            settled = len(client.cache.answers)
            raise EndpointUnreachable(
                f"{client.unreachable}; stopped at task {task}. {settled} answers settled so far "
                f"are kept in {work_dir / 'answers.jsonl'}: rerun the same command to resume"
            )
        counts = {"instances": len(rows), "cached": 0, "repaired": 0, "invalid": 0, "failed": 0}
        for row, answer in zip(rows, answers, strict=True):
            counts["cached"] += bool(answer.get("cached"))
            counts["repaired"] += bool(answer.get("repaired"))
            if answer.get("data") is None:
                failed = str(answer.get("error", "")).startswith("request failed")
                counts["failed" if failed else "invalid"] += 1
                continue
            value, _ = prompts.to_prediction(task, row, answer["data"])
            lines.append({"task": task, "instance_id": row["instance_id"], "prediction": value})
        stats["tasks"][task] = counts
    stats |= {"response_format": client.response_format, "requests": client.requests}
    out = work_dir / "predictions.jsonl"
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return out, stats
