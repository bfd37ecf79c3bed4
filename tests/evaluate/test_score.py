"""`communitybench evaluate --predictions` on the demo release, checked against metrics computed
independently (scipy's kendalltau and jensenshannon, plain accuracy), and every kind of bad
predictions file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import kendalltau
from typer.testing import CliRunner

from communitybench.evaluate.predictions import PredictionError
from communitybench.evaluate.release import open_release
from communitybench.evaluate.score import evaluate_predictions
from flows.cli import app


def rows(release: Path, task: str, split: str = "test") -> list[dict]:
    path = release / task / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def independent_predictions(release: Path, seed: int = 11) -> list[dict]:
    """Seeded random predictions for PI, DP and CI, written without the project's code."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows(release, "pi"):
        out.append(
            {"task": "pi", "instance_id": r["instance_id"], "prediction": int(rng.integers(r["k"]))}
        )
    for r in rows(release, "dp"):
        p = rng.dirichlet(np.ones(r["k"]))
        out.append({"task": "dp", "instance_id": r["instance_id"], "prediction": p.tolist()})
    for r in rows(release, "ci"):
        n = len(r["candidate_ids"])
        out.append(
            {"task": "ci", "instance_id": r["instance_id"], "prediction": int(rng.integers(n))}
        )
    return out


def write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def expected(release: Path, preds: list[dict]) -> dict:
    """The metrics by their definitions: plain accuracy, scipy tau-b (nan → 0), base-2 JSD."""
    by = {(p["task"], p["instance_id"]): p["prediction"] for p in preds}
    out = {}
    for task in ("pi", "ci"):
        hits = [by[(task, r["instance_id"])] == r["label"] for r in rows(release, task)]
        out[f"{task}.accuracy"] = float(np.mean(hits))
    taus, tops, jsds = [], [], []
    for r in rows(release, "dp"):
        p, q = np.array(by[("dp", r["instance_id"])]), np.array(r["distribution"])
        tau = kendalltau(p, q).statistic  # tau-b is scipy's default variant
        taus.append(0.0 if np.isnan(tau) else tau)
        tops.append(float(np.argmax(p) == np.argmax(q)))
        jsds.append(jensenshannon(p, q, base=2) ** 2)
    out |= {"dp.kendall_tau": np.mean(taus), "dp.top1": np.mean(tops), "dp.jsd": np.mean(jsds)}
    return out


def test_metrics_equal_an_independent_computation(demo_release, tmp_path):
    preds = independent_predictions(demo_release)
    assert {p["task"] for p in preds} == {"pi", "dp", "ci"}, "the demo release has all three"
    path = write(tmp_path / "preds.jsonl", preds)
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--release", str(demo_release), "--predictions", str(path), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    for name, value in expected(demo_release, preds).items():
        task, metric = name.split(".")
        assert metrics[task][metric]["value"] == pytest.approx(value, abs=1e-6), name
        assert metrics["summary"][name] == pytest.approx(value, abs=1e-6)
        assert metrics[task][metric]["n"] == len(rows(demo_release, task))
        low, high = metrics[task][metric]["ci95"]
        assert low <= value + 1e-9 and value - 1e-9 <= high
    assert metrics["skipped_tasks"] == ["ccg"]
    # breakdowns: no `level` column in this release → one group 'all'; per subreddit by hand
    pi = metrics["pi"]["accuracy"]
    levels = sorted({r.get("level", "all") for r in rows(demo_release, "pi")})
    assert list(pi["by_level"]) == levels  # issue 12's levels, or one group "all" without them
    assert sum(v["n"] for v in pi["by_level"].values()) == pi["n"]
    by = {p["instance_id"]: p["prediction"] for p in preds if p["task"] == "pi"}
    per_forum: dict[str, list[bool]] = {}
    for r in rows(demo_release, "pi"):
        per_forum.setdefault(r["subreddit"], []).append(by[r["instance_id"]] == r["label"])
    assert {f: g["value"] for f, g in pi["by_forum"].items()} == pytest.approx(
        {f: np.mean(v) for f, v in per_forum.items()}
    )


def test_level_column_splits_the_breakdown(demo_release, tmp_path):
    release = open_release(demo_release)
    pi = release.instances("pi", "test")
    for i, row in enumerate(pi):  # what issue 12's `level` column will look like
        row["level"] = "forum" if i % 2 == 0 else "sub"
    preds = [{"task": "pi", "instance_id": r["instance_id"], "prediction": r["label"]} for r in pi]
    metrics = evaluate_predictions(release, write(tmp_path / "p.jsonl", preds))
    levels = metrics["pi"]["accuracy"]["by_level"]
    assert set(levels) == {"forum", "sub"}
    assert levels["forum"]["n"] == (len(pi) + 1) // 2 and levels["sub"]["value"] == 1.0


def test_bad_predictions_are_listed_and_nothing_is_scored(demo_release, tmp_path):
    pi, dp = rows(demo_release, "pi"), rows(demo_release, "dp")
    good = [{"task": "pi", "instance_id": r["instance_id"], "prediction": 0} for r in pi[1:]]
    lines = [
        *good,
        good[0],  # duplicate
        {"task": "pi", "instance_id": "0" * 20, "prediction": 1},  # unknown id
        {"task": "xx", "instance_id": pi[0]["instance_id"], "prediction": 1},  # unknown task
        "{not json",
        {"task": "dp", "instance_id": dp[0]["instance_id"], "prediction": [0.5, 0.5]},  # wrong k
        {"task": "dp", "instance_id": dp[1]["instance_id"], "prediction": [1.0] * dp[1]["k"]},
    ]
    path = write(tmp_path / "bad.jsonl", lines)
    out = tmp_path / "m.json"
    args = [
        "evaluate",
        "--release",
        str(demo_release),
        "--predictions",
        str(path),
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and not out.exists()
    message = " ".join(result.output.split())
    assert "1 duplicate" in message and "1 unknown instance_id" in message
    assert "1 unknown task" in message and "3 malformed" in message and "not JSON" in message
    assert f"pi/{pi[0]['instance_id']}" in message  # the missing PI instance, by id
    assert "sums to" in message and f"list of {dp[0]['k']} probabilities" in message
    with pytest.raises(PredictionError) as caught:
        evaluate_predictions(open_release(demo_release), path)
    missing = caught.value.problems["missing (use --allow-missing to count them as wrong)"]
    assert len(missing) == 1 + (len(dp) - 2)


def test_allow_missing_counts_missing_as_wrong(demo_release, tmp_path):
    pi = rows(demo_release, "pi")
    right = [
        {"task": "pi", "instance_id": r["instance_id"], "prediction": r["label"]} for r in pi[:3]
    ]
    path = write(tmp_path / "some.jsonl", right)
    with pytest.raises(PredictionError):
        evaluate_predictions(open_release(demo_release), path)
    metrics = evaluate_predictions(open_release(demo_release), path, allow_missing=True)
    assert metrics["pi"]["accuracy"]["value"] == pytest.approx(3 / len(pi))
    assert metrics["pi"]["accuracy"]["n"] == len(pi) and metrics["missing"] == {"pi": len(pi) - 3}
