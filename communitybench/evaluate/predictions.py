"""Reading and checking a predictions file: one JSON object a line, nothing silently dropped.

A line is ``{"task": "pi"|"dp"|"ci"|"ccg", "instance_id": ..., "prediction": ...}``: an option
index (PI), a candidate index (CI), probabilities over the options (DP; non-negative, summing to
1 within 0.01, renormalised) or a text (CCG). Every problem is collected — malformed lines,
unknown tasks or ids, duplicates, instances with no prediction — and reported together.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from communitybench.config import UsageError
from communitybench.evaluate.release import TASKS

DP_SUM_TOLERANCE = 0.01
SHOWN = 10  # problems listed per kind in the error message


class PredictionError(UsageError):
    """A predictions file with problems; the message lists them by kind."""

    def __init__(self, problems: dict[str, list[str]]):
        self.problems = problems
        parts = []
        for kind, items in problems.items():
            listed = "; ".join(items[:SHOWN]) + (
                f"; ... {len(items) - SHOWN} more" if len(items) > SHOWN else ""
            )
            parts.append(f"{len(items)} {kind}: {listed}")
        super().__init__("predictions rejected — " + " | ".join(parts))


@dataclass
class Predictions:
    """Checked predictions per task ({instance_id: prediction}) and the ids missing per task."""

    by_task: dict[str, dict[str, object]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)


def check_prediction(task: str, value, instance: dict) -> tuple[object, str | None]:
    """The prediction in canonical form, or the reason it is malformed."""
    if task in ("pi", "ci"):
        bound = instance["k"] if task == "pi" else len(instance["candidate_ids"])
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"{task} prediction must be an integer index, got {value!r}"
        if not 0 <= value < bound:
            return None, f"index {value} out of range 0..{bound - 1}"
        return value, None
    if task == "dp":
        k = instance["k"]
        if not isinstance(value, list) or len(value) != k:
            return None, f"dp prediction must be a list of {k} probabilities, got {value!r}"
        if any(isinstance(p, bool) or not isinstance(p, int | float) for p in value):
            return None, f"dp prediction has a non-number: {value!r}"
        if any(not math.isfinite(p) or p < 0 for p in value):
            return None, f"dp prediction has a negative or non-finite value: {value!r}"
        total = sum(value)
        if abs(total - 1) > DP_SUM_TOLERANCE:
            return None, f"dp prediction sums to {total:.4f}, not 1"
        return [p / total for p in value], None
    if not isinstance(value, str) or not value.strip():
        return None, f"ccg prediction must be a non-empty text, got {value!r}"
    return value, None


def read_predictions(
    path: Path, instances: dict[str, dict[str, dict]], *, allow_missing: bool = False
) -> Predictions:
    """Parse and check ``path`` against the release's instances ({task: {id: row}}).

    Tasks the file never names are not scored (the caller reports them as skipped); in a task
    it names, every instance needs a prediction unless ``allow_missing``.

    Raises:
        PredictionError: listing every malformed line, unknown task or id, duplicate and (without
            ``allow_missing``) missing prediction.
        FileNotFoundError: no such file.
    """
    problems: dict[str, list[str]] = {}
    seen: dict[str, dict[str, object]] = {}
    named: dict[str, set[str]] = {}  # per task named in the file, ids with any line

    def problem(kind: str, text: str) -> None:
        problems.setdefault(kind, []).append(text)

    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problem("malformed", f"line {number}: not JSON ({exc.msg})")
                continue
            if not isinstance(record, dict) or not {"task", "instance_id", "prediction"} <= set(
                record
            ):
                problem("malformed", f"line {number}: needs task, instance_id and prediction")
                continue
            task, iid = record["task"], str(record["instance_id"])
            if task not in TASKS:
                problem("unknown task", f"line {number}: {task!r}")
                continue
            if iid not in instances.get(task, {}):
                problem("unknown instance_id", f"line {number}: {task}/{iid}")
                continue
            named.setdefault(task, set()).add(iid)
            if iid in seen.get(task, {}):
                problem("duplicate", f"line {number}: {task}/{iid}")
                continue
            value, reason = check_prediction(task, record["prediction"], instances[task][iid])
            if reason:
                problem("malformed", f"line {number} ({task}/{iid}): {reason}")
                continue
            seen.setdefault(task, {})[iid] = value
    # a task the file names is in scope; an instance with only malformed lines is reported as
    # malformed, not again as missing
    missing = {task: sorted(set(instances.get(task, {})) - ids) for task, ids in named.items()}
    missing = {task: ids for task, ids in missing.items() if ids}
    if missing and not allow_missing:
        for task, ids in missing.items():
            for iid in ids:
                problem("missing (use --allow-missing to count them as wrong)", f"{task}/{iid}")
    if problems:
        raise PredictionError(problems)
    return Predictions(by_task={t: seen.get(t, {}) for t in named}, missing=missing)
