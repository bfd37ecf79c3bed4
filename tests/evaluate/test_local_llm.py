"""A real local model end to end: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct
answering the release's prompts (skipped unless `make llm-setup` has installed both)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from communitybench.evaluate.chat import ChatConfig
from communitybench.evaluate.release import open_release
from communitybench.evaluate.runner import run_model
from communitybench.evaluate.score import evaluate_predictions
from communitybench.inference.local_llm import SMOLLM2_NAME, missing_parts, server_command
from tests.fixtures.release import lm_eval_dp

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(bool(missing_parts()), reason="; ".join(missing_parts()) or "ready"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smollm2():
    port = free_port()
    process = subprocess.Popen(
        server_command(port=port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server did not start in 120 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_smollm2_answers_the_shipped_prompts_and_is_scored(smollm2, demo_release, tmp_path):
    release = open_release(demo_release).sampled(12)  # CPU time: ~10 s a prompt on 2 cores
    config = ChatConfig(base_url=smollm2, model=SMOLLM2_NAME, concurrency=1, max_tokens=64)
    predictions, stats = run_model(
        release, config, split="test", work_dir=tmp_path, tasks=("pi",), progress=False
    )
    n = len(release.instances("pi", "test"))
    counts = stats["tasks"]["pi"]
    assert counts["instances"] == n and counts["failed"] == 0
    valid = len(predictions.read_text().splitlines())
    assert valid == n - counts["invalid"]
    assert stats["response_format"] == "json_object"  # llama.cpp refuses json_schema
    metrics = evaluate_predictions(release, predictions, allow_missing=True)
    assert metrics["pi"]["accuracy"]["n"] == n
    assert 0.0 <= metrics["pi"]["accuracy"]["value"] <= 1.0
    for line in predictions.read_text().splitlines():
        row = json.loads(line)
        assert 0 <= row["prediction"] < 5


def test_lm_eval_runs_dp_against_smollm2(smollm2, demo_release):
    """The release's lm-evaluation-harness task, loaded by its TaskManager, through
    ``local-chat-completions`` against the real local model (3 instances: CPU time)."""
    results = lm_eval_dp(
        demo_release,
        model=SMOLLM2_NAME,
        base_url=smollm2,
        limit=3,
        gen_kwargs="max_gen_toks=64",
        log_samples=True,
    )
    got = results["results"]["communitybench_dp"]
    samples = results["samples"]["communitybench_dp"]
    # the model really answered each of the 3 (a text, not an empty or failed response) ...
    assert len(samples) == 3 and all(str(s["filtered_resps"][0]).strip() for s in samples)
    # ... and the task's aggregates are the means of the per-sample scores process_results gave
    for metric in ("jsd", "kendall_tau", "top1"):
        per_sample = [s[metric] for s in samples]
        assert got[f"{metric},none"] == pytest.approx(np.mean(per_sample), abs=1e-9)
    assert all(0.0 <= s["jsd"] <= 1.0 and s["top1"] in (0.0, 1.0) for s in samples)
