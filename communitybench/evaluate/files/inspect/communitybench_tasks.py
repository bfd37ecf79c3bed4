"""inspect_ai tasks for a communitybench release (shipped in <release>/eval/inspect/).

Self-contained: the samples come from the release this file sits in, the prompts from
``../prompts/``, the prompt fields and metric helpers from ``../lm_eval/utils.py``. Run with::

    inspect eval <release>/eval/inspect/communitybench_tasks.py@pi --model openai-api/local/NAME
    # (OPENAI_API_BASE-style settings for an OpenAI-compatible endpoint, e.g. llama.cpp's)

Each task asks for the same JSON answer as ``communitybench evaluate --model``; a scorer parses it.
PI and CI: accuracy. DP: the value is JSD in bits (lower is better) with tau-b and top-1 in the
score's metadata. CCG: the best unigram F1 against the community's endorsed replies.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Score, Target, accuracy, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate

HERE = Path(__file__).resolve().parent
RELEASE_DIR = HERE.parent.parent


def _utils():
    spec = importlib.util.spec_from_file_location(
        "communitybench_lm_eval_utils", HERE.parent / "lm_eval" / "utils.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UTILS = _utils()
TEXT = {"pi": UTILS.pi_text, "dp": UTILS.dp_text, "ci": UTILS.ci_text, "ccg": UTILS.ccg_text}


def samples(name: str, split: str = "test") -> list[Sample]:
    """The release's instances of one task and split as inspect samples."""
    path = RELEASE_DIR / name / f"{split}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        Sample(
            input=TEXT[name](row),
            target=str(row.get("label", "")),
            id=row["instance_id"],
            metadata={"row": json.dumps(row)},
        )
        for row in rows
    ]


@scorer(metrics=[accuracy(), stderr()])
def json_answer():
    async def score(state: TaskState, target: Target) -> Score:
        data = UTILS._json_object(state.output.completion) or {}
        answer = data.get("answer")
        return Score(value="C" if str(answer) == target.text else "I", answer=str(answer))

    return score


@scorer(metrics=[mean(), stderr()])
def distribution_jsd():
    async def score(state: TaskState, target: Target) -> Score:
        row = json.loads(state.metadata["row"])
        values = UTILS.process_dp(row, [state.output.completion])
        return Score(value=values["jsd"], metadata=values)

    return score


@scorer(metrics=[mean(), stderr()])
def reference_f1():
    async def score(state: TaskState, target: Target) -> Score:
        row = json.loads(state.metadata["row"])
        return Score(value=UTILS.process_ccg(row, [state.output.completion])["reference_f1"])

    return score


@task
def pi(split: str = "test") -> Task:
    return Task(
        dataset=MemoryDataset(samples("pi", split)), solver=generate(), scorer=json_answer()
    )


@task
def ci(split: str = "test") -> Task:
    return Task(
        dataset=MemoryDataset(samples("ci", split)), solver=generate(), scorer=json_answer()
    )


@task
def dp(split: str = "test") -> Task:
    return Task(
        dataset=MemoryDataset(samples("dp", split)), solver=generate(), scorer=distribution_jsd()
    )


@task
def ccg(split: str = "test") -> Task:
    return Task(
        dataset=MemoryDataset(samples("ccg", split)), solver=generate(), scorer=reference_f1()
    )
