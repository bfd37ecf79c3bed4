"""`communitybench evaluate --model`: the real openai client against the fake endpoint, which
answers the shipped prompts deterministically, so every metric is derivable by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from typer.testing import CliRunner

from communitybench.evaluate.chat import ChatConfig
from communitybench.evaluate.release import TASKS, open_release
from communitybench.evaluate.runner import run_model
from flows.cli import app
from tests.fakes.openai_server import FakeOpenAI, dead_url, eval_answer


def rows(release: Path, task: str) -> list[dict]:
    path = release / task / "test.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_model_run_scores_what_the_fake_answered(demo_release, tmp_path):
    instances = {t: rows(demo_release, t) for t in TASKS}
    pi, dp, ci = instances["pi"], instances["dp"], instances["ci"]

    # answers out of range, also after the repair turn. The fake finds an instance by its query
    # and options, which a thread's forum- and sub-level instances share: all of them go bad.
    def signature(r: dict) -> tuple:
        return r["query_title"], tuple(r["option_texts"])

    bad = next(r["instance_id"] for r in pi if signature(r) == signature(pi[-1]))
    bad_rows = {r["instance_id"] for r in pi if signature(r) == signature(pi[-1])}
    fake = FakeOpenAI(eval_answer(instances, out_of_range={bad}), reject_json_schema=500)
    out = tmp_path / "metrics.json"
    args = ["evaluate", "--release", str(demo_release), "--model", "fake-eval", "--out", str(out)]
    with fake:
        # the first request is refused (json_schema, with llama.cpp's 500), the next answer is
        # cut in half
        fake.fail_next = ["pass", "invalid_json"]
        result = CliRunner().invoke(app, [*args, "--base-url", fake.base_url, "--concurrency", "1"])
        assert result.exit_code == 0, result.output
        metrics = json.loads(out.read_text())
        first_requests = len(fake.requests)
        again = CliRunner().invoke(app, [*args, "--base-url", fake.base_url])
        assert again.exit_code == 0, again.output
        assert len(fake.requests) == first_requests, "the rerun is answered from the cache"
    rerun = json.loads(out.read_text())
    assert rerun["summary"] == metrics["summary"]
    assert all(t["cached"] == t["instances"] for t in rerun["model_run"]["tasks"].values())
    # PI: the longest reply, except the one instance whose answers stayed invalid (wrong)
    longest = [
        r["instance_id"] not in bad_rows
        and int(np.argmax([len(t) for t in r["option_texts"]])) == r["label"]
        for r in pi
    ]
    assert metrics["pi"]["accuracy"]["value"] == pytest.approx(np.mean(longest), abs=1e-9)
    assert metrics["missing"].get("pi") == len(bad_rows)
    # DP: uniform → tau-b 0, top-1 = the first option is the favourite, JSD against uniform
    uniform_jsd = [
        jensenshannon(np.ones(r["k"]) / r["k"], r["distribution"], base=2) ** 2 for r in dp
    ]
    assert metrics["dp"]["kendall_tau"]["value"] == 0.0
    assert metrics["dp"]["top1"]["value"] == pytest.approx(
        np.mean([np.argmax(r["distribution"]) == 0 for r in dp])
    )
    assert metrics["dp"]["jsd"]["value"] == pytest.approx(np.mean(uniform_jsd), abs=1e-9)
    # CI: always candidate 0
    assert metrics["ci"]["accuracy"]["value"] == pytest.approx(
        np.mean([r["label"] == 0 for r in ci])
    )
    assert metrics["ccg"]["similarity"]["n"] == len(instances["ccg"])
    run = metrics["model_run"]
    assert run["response_format"] == "json_object"  # json_schema refused, like llama.cpp
    # repaired: the cut answer (then valid) and the out-of-range ones (still invalid)
    assert run["tasks"]["pi"] == {
        "instances": len(pi),
        "cached": 0,
        "repaired": 1 + len(bad_rows),
        "invalid": len(bad_rows),
        "failed": 0,
    }
    repairs = [r for r in fake.requests if len(r["messages"]) == 3]
    assert len(repairs) == 1 + len(bad_rows)
    assert all("could not be used" in r["messages"][2]["content"] for r in repairs)


def test_an_interrupted_run_resumes_asking_only_what_is_missing(demo_release, tmp_path):
    release = open_release(demo_release)
    instances = {t: rows(demo_release, t) for t in TASKS}
    with FakeOpenAI(eval_answer(instances)) as fake:
        config = ChatConfig(base_url=fake.base_url, model="fake-eval", retries=0, concurrency=2)
        fake.fail_next = [500, 500, 500]  # three instances fail (not cached)
        _, stats = run_model(
            release, config, split="test", work_dir=tmp_path, tasks=("pi",), progress=False
        )
        assert stats["tasks"]["pi"]["failed"] == 3
        lines = (tmp_path / "answers.jsonl").read_text().splitlines()
        assert len(lines) == len(instances["pi"]) - 3
        before = len(fake.requests)
        predictions, stats = run_model(
            release, config, split="test", work_dir=tmp_path, tasks=("pi",), progress=False
        )
        assert len(fake.requests) - before == 3  # only the three that failed
    assert stats["tasks"]["pi"] == {
        "instances": len(instances["pi"]),
        "cached": len(instances["pi"]) - 3,
        "repaired": 0,
        "invalid": 0,
        "failed": 0,
    }
    assert len(predictions.read_text().splitlines()) == len(instances["pi"])


def test_an_unreachable_endpoint_stops_the_run_with_one_clear_error(demo_release, tmp_path):
    url = dead_url()
    out = tmp_path / "metrics.json"
    args = ["evaluate", "--release", str(demo_release), "--model", "m", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--base-url", url, "--work-dir", str(tmp_path / "w")])
    assert result.exit_code == 2, result.output
    assert f"{url} unreachable" in result.output and "stopped at task pi" in result.output
    assert "rerun the same command to resume" in result.output
    assert not out.exists()  # no metrics from a run that asked nothing
