"""The ``eval/`` folder and baselines every release carries: lm-evaluation-harness tasks loaded by
its TaskManager and one run end to end against the fake endpoint, the inspect_ai tasks, the
baseline table in baselines.json and in the card."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from communitybench.evaluate import prompts
from communitybench.evaluate.release import TASKS, open_release
from tests.fakes.openai_server import FakeOpenAI, eval_answer
from tests.fixtures.release import files_match_manifest, lm_eval_dp

LM_EVAL_TASKS = [f"communitybench_{t}" for t in ("pi", "dp", "ci", "ccg")]


def rows(release: Path, task: str) -> list[dict]:
    path = release / task / "test.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_release_ships_eval_files_and_baselines(demo_release):
    eval_dir = demo_release / "eval"
    yamls = sorted(p.name for p in (eval_dir / "lm_eval").glob("*.yaml"))
    assert yamls == sorted(f"{t}.yaml" for t in LM_EVAL_TASKS)
    for name in ("pi", "dp", "ci", "ccg", "judge"):
        assert (eval_dir / "prompts" / f"{name}.txt").is_file()
    assert (eval_dir / "lm_eval" / "utils.py").is_file()
    assert (eval_dir / "inspect" / "communitybench_tasks.py").is_file()
    assert files_match_manifest(demo_release)  # the eval files are hashed like the data
    table = json.loads((demo_release / "baselines.json").read_text())
    need = {"random", "fixed_0", "longest", "shortest", "most_positive", "most_similar_query"}
    assert need | {"most_similar_profile", "trained_logreg", "chance"} <= set(table["pi"])
    assert {"uniform", "random", "fixed_position", "trained_logreg"} <= set(table["dp"])
    assert {"random", "fixed_0", "trained_logreg", "chance"} <= set(table["ci"])
    pi = rows(demo_release, "pi")
    assert table["meta"]["n"]["pi"] == len(pi)
    # two baselines checked by hand: always the first option, and the longest
    assert table["pi"]["fixed_0"]["accuracy"] == pytest.approx(
        np.mean([r["label"] == 0 for r in pi]), abs=1e-6
    )
    longest = [int(np.argmax([len(t) for t in r["option_texts"]])) == r["label"] for r in pi]
    assert table["pi"]["longest"]["accuracy"] == pytest.approx(np.mean(longest), abs=1e-6)
    dp = rows(demo_release, "dp")
    uniform = [jensenshannon(np.ones(r["k"]) / r["k"], r["distribution"], base=2) ** 2 for r in dp]
    assert table["dp"]["uniform"]["jsd"] == pytest.approx(np.mean(uniform), abs=1e-6)
    assert table["dp"]["uniform"]["kendall_tau"] == 0.0
    card = (demo_release / "README.md").read_text()
    assert "## Baselines" in card
    assert f"| pi | longest | {table['pi']['longest']['accuracy']:.3f} |" in card
    assert f"| dp | uniform | 0.000 | {table['dp']['uniform']['top1']:.3f} |" in card


def test_harness_prompts_are_the_prompts_the_model_runner_asks(demo_release):
    utils = load_module(demo_release / "eval" / "lm_eval" / "utils.py", "cb_utils_check")
    templates = prompts.load_templates(open_release(demo_release))
    for task in TASKS:
        for row in rows(demo_release, task)[:3]:
            text = getattr(utils, f"{task}_text")(row)
            assert text == prompts.render(task, row, templates)[0]["content"]


def test_lm_eval_loads_the_tasks_and_runs_dp_against_a_local_endpoint(demo_release):
    pytest.importorskip("lm_eval", reason="lm-eval is in the dev extra")
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(demo_release / "eval" / "lm_eval"))
    assert set(LM_EVAL_TASKS) <= set(manager.all_tasks)
    dp = rows(demo_release, "dp")
    instances = {t: rows(demo_release, t) for t in TASKS}
    with FakeOpenAI(eval_answer(instances)) as fake:
        results = lm_eval_dp(demo_release, model="fake-eval", base_url=fake.base_url)
    assert len(fake.requests) == len(dp)
    got = results["results"]["communitybench_dp"]
    uniform = [jensenshannon(np.ones(r["k"]) / r["k"], r["distribution"], base=2) ** 2 for r in dp]
    assert got["jsd,none"] == pytest.approx(np.mean(uniform), abs=1e-9)
    assert got["kendall_tau,none"] == 0.0
    assert got["top1,none"] == pytest.approx(
        np.mean([np.argmax(r["distribution"]) == 0 for r in dp])
    )


def test_inspect_tasks_build_from_the_release(demo_release):
    pytest.importorskip("inspect_ai", reason="inspect-ai is in the dev extra")
    module = load_module(
        demo_release / "eval" / "inspect" / "communitybench_tasks.py", "cb_inspect"
    )
    templates = prompts.load_templates(open_release(demo_release))
    for name in TASKS:
        task = getattr(module, name)()
        expected = rows(demo_release, name)
        assert len(task.dataset) == len(expected)
        first = task.dataset[0]
        assert first.input == prompts.render(name, expected[0], templates)[0]["content"]
        if name in ("pi", "ci"):
            assert first.target == str(expected[0]["label"])
