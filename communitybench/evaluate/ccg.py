"""CCG scoring: is a generation closer to its community's endorsed replies than to others'?

Reference-based community consistency, with the encoder the release was built with (L2-normalised
vectors, so a dot product is a cosine):

- ``similarity``: mean cosine of the generation to the community's references for the query;
- the contrast set: the ``CONTRAST`` CCG instances of *other* communities of the same level,
  from other threads (any split of the
  release) whose queries are most similar to this one, each with its own references;
- ``consistency``: similarity minus the mean similarity to the contrast instances' references;
- ``win_rate``: the share of contrast instances whose references the generation is less similar
  to than to its own community's (0.5 ≈ a reply that could come from anyone).

The optional LLM judge (``Judge``) compares the generation with the community's top reference
pairwise, in both orders (position bias cancels), with the release's ``eval/prompts/judge.txt``;
a win is 1, a tie 0.5; answers are cached in a JSONL file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from communitybench.evaluate import prompts
from communitybench.evaluate.chat import AnswerCache, ChatClient, ChatConfig
from communitybench.evaluate.release import SPLITS, Release, query_text

CONTRAST = 5


_VECTORS: dict[tuple[str, str, str], np.ndarray] = {}  # this process's encodings, by text
_MAX_CACHED = 200_000


def encode(release: Release, texts: list[str]) -> np.ndarray:
    """L2-normalised vectors of ``texts`` with the release's encoder (CPU or GPU as available);
    texts encoded before in this process are not encoded again."""
    from communitybench.inference.encoder import encode_chunk

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    model, revision = release.embedding_model()
    todo = sorted({t for t in texts if (model, revision, t) not in _VECTORS})
    if todo:
        vectors = encode_chunk(todo, model=model, revision=revision, device="auto", batch_size=32)
        if len(_VECTORS) + len(todo) > _MAX_CACHED:
            _VECTORS.clear()
        _VECTORS.update(((model, revision, t), v) for t, v in zip(todo, vectors, strict=True))
    return np.vstack([_VECTORS[(model, revision, t)] for t in texts])


def _reference_centroids(release: Release, rows: list[dict]) -> np.ndarray:
    """Per instance, the mean vector of its references (mean cosine = dot with it)."""
    texts = [t for r in rows for t in r["reference_texts"]]
    vectors = encode(release, texts)
    out, start = [], 0
    for r in rows:
        n = len(r["reference_texts"])
        out.append(vectors[start : start + n].mean(axis=0))
        start += n
    return np.vstack(out) if out else np.zeros((0, 0))


def consistency_values(release: Release, rows: list[dict], generations: dict) -> dict:
    """Per instance id with a generation: similarity, and consistency / win_rate when there are
    other communities' instances to contrast with."""
    scored = [r for r in rows if r["instance_id"] in generations]
    if not scored:
        return {}
    pool = {r["instance_id"]: r for s in SPLITS for r in release.instances("ccg", s)}
    pool.update({r["instance_id"]: r for r in rows})
    pool_rows = list(pool.values())
    centroids = _reference_centroids(release, pool_rows)
    queries = encode(release, [query_text(r) for r in pool_rows])
    index = {r["instance_id"]: i for i, r in enumerate(pool_rows)}
    gen = encode(release, [generations[r["instance_id"]] for r in scored])
    communities = np.array([r["community_id"] for r in pool_rows])
    threads = np.array([r.get("thread_id", r["instance_id"]) for r in pool_rows])
    levels = np.array([r.get("level", "") for r in pool_rows])
    out = {}
    for g, row in zip(gen, scored, strict=True):
        i = index[row["instance_id"]]
        own = float(g @ centroids[i])
        # other communities of the same level, other threads (a thread's forum and sub
        # instances share query and references, so they are no contrast)
        others = np.flatnonzero(
            (communities != row["community_id"]) & (threads != threads[i]) & (levels == levels[i])
        )
        values = {"similarity": own}
        if others.size:
            nearest = others[np.argsort(-(queries[others] @ queries[i]), kind="stable")[:CONTRAST]]
            contrast = centroids[nearest] @ g
            values = {
                "consistency": own - float(contrast.mean()),
                "win_rate": float(np.mean(own > contrast)),
                "similarity": own,
            }
        out[row["instance_id"]] = values
    return out


@dataclass
class Judge:
    """An LLM judge on an OpenAI-compatible endpoint; answers cached in ``cache_path``."""

    config: ChatConfig
    cache_path: Path | None = None

    def scores(self, release: Release, rows: list[dict], generations: dict, *, progress=False):
        """Per instance id: the generation's mean win (both orders) against the top reference."""
        templates = prompts.load_templates(release)
        client = ChatClient(self.config, AnswerCache(self.cache_path))
        items, keys = [], []
        for row in rows:
            gen = generations.get(row["instance_id"])
            if gen is None:
                continue
            ref = row["reference_texts"][0]
            for gen_is_a in (True, False):
                a, b = (gen, ref) if gen_is_a else (ref, gen)
                text = templates["judge"].format(
                    **prompts.prompt_fields("ccg", row), reply_a=a, reply_b=b
                )
                messages = [{"role": "user", "content": text}]
                check = lambda d: prompts.to_prediction("judge", {}, d)[1]  # noqa: E731
                items.append((messages, prompts.schema("judge", row), check))
                keys.append((row["instance_id"], gen_is_a))
        answers = client.ask_many(items, progress=progress, desc="judge")
        wins: dict[str, list[float]] = {}
        for (iid, gen_is_a), answer in zip(keys, answers, strict=True):
            winner = (answer.get("data") or {}).get("winner")
            mine = "A" if gen_is_a else "B"
            value = 1.0 if winner == mine else 0.5 if winner == "tie" else 0.0
            wins.setdefault(iid, []).append(value)  # no usable verdict counts as a loss
        return {iid: float(np.mean(v)) for iid, v in wins.items()}


def score_generations(
    release: Release, rows: list[dict], generations: dict, *, judge=None, progress=False
) -> dict:
    """Per instance id: the consistency values, plus ``judge_win_rate`` with a judge."""
    values = consistency_values(release, rows, generations)
    if judge is not None:
        for iid, win in judge.scores(release, rows, generations, progress=progress).items():
            values[iid]["judge_win_rate"] = win
    return values
