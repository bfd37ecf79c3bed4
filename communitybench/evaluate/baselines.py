"""How far trivial baselines get on a release: ``{task: {baseline: {metric: value}}}``.

PI and CI are scored by accuracy, DP by Kendall tau-b, top-1 and JSD, all through the same
per-instance metrics as a model (``score.score_task``). The community-blind predictors are
``transforms/baselines.py`` (those whose fields the release carries: text and embeddings;
timing fields stay in the warehouse's shortcut audit); ``most_similar_profile`` is
community-aware; ``trained_logreg`` is a logistic regression over community-blind option
features (length, position, VADER sentiment, similarity to the query) fitted on the train split.

A DP baseline turns per-option scores into a distribution: softmax of the scores standardised
within the instance (equal scores → uniform). ``uniform`` puts 1/k everywhere (its top-1 is the
first option: ties go to the lowest index). ``random`` draws seeded picks (PI, CI) or
Dirichlet(1) distributions (DP).
"""

from __future__ import annotations

import numpy as np

from communitybench.evaluate import ccg
from communitybench.evaluate.release import Release, candidate_profiles, profile_text, query_text
from communitybench.evaluate.score import score_task
from transforms.baselines import PREDICTORS, chance, missing_fields
from transforms.labels import sentiment_scores

MAX_K = 5


class Features:
    """Vectors of every text the instances use (encoded once) and option sentiment."""

    def __init__(self, release: Release, rows: list[dict]):
        texts = set()
        for r in rows:
            texts.update(r["option_texts"])
            texts.add(query_text(r))
            if "profile" in r:
                texts.add(profile_text(r["profile"]))
            if "candidate_profiles" in r:
                texts.update(profile_text(p) for p in candidate_profiles(r))
        order = sorted(texts)
        vectors = ccg.encode(release, order)
        self.vector = dict(zip(order, vectors, strict=True))
        options = sorted({t for r in rows for t in r["option_texts"]})
        self.sentiment = dict(zip(options, sentiment_scores(options), strict=True))

    def options(self, row: dict) -> list[dict]:
        return [
            {"text": t, "vector": self.vector[t], "sentiment": self.sentiment[t]}
            for t in row["option_texts"]
        ]

    def query(self, row: dict) -> dict:
        text = query_text(row)
        return {"text": text, "vector": self.vector[text]}

    def option_matrix(self, row: dict) -> np.ndarray:
        """Community-blind features per option: log length, length z-score, position one-hot,
        sentiment, cosine to the query."""
        lengths = np.array([len(t) for t in row["option_texts"]], dtype=float)
        z = (lengths - lengths.mean()) / (lengths.std() or 1.0)
        q = self.query(row)["vector"]
        rows = []
        for i, o in enumerate(self.options(row)):
            position = np.eye(MAX_K)[min(i, MAX_K - 1)]
            rows.append([np.log1p(lengths[i]), z[i], *position, o["sentiment"], o["vector"] @ q])
        return np.array(rows)

    def candidate_matrix(self, row: dict) -> np.ndarray:
        """CI features per candidate: cosine of its profile to the query, to the favourite option
        and to the options weighted by the observed distribution; position one-hot."""
        q = self.query(row)["vector"]
        options = np.vstack([self.vector[t] for t in row["option_texts"]])
        weights = np.asarray(row["distribution"], dtype=float)
        favourite = options[int(np.argmax(weights))]
        out = []
        for i, p in enumerate(candidate_profiles(row)):
            v = self.vector[profile_text(p)]
            position = np.eye(MAX_K)[min(i, MAX_K - 1)]
            out.append([v @ q, v @ favourite, float(weights @ (options @ v)), *position])
        return np.array(out)


def fit_scorer(matrices: list[np.ndarray], targets: list[np.ndarray]):
    """A logistic regression on per-item features with soft targets (an item is a positive with
    weight t and a negative with weight 1 - t); returns items' scores, or None without data."""
    from sklearn.linear_model import LogisticRegression

    if not matrices:
        return None
    x = np.vstack(matrices)
    t = np.concatenate(targets).astype(float)
    if t.min() == t.max() and len(set(np.round(t, 9))) == 1:
        return None
    xx = np.vstack([x, x])
    yy = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    ww = np.concatenate([t, 1 - t])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(max_iter=1000).fit((xx - mean) / std, yy, sample_weight=ww)
    return lambda m: model.decision_function((m - mean) / std)


def softmax_of(scores) -> list[float]:
    s = np.asarray(scores, dtype=float)
    z = (s - s.mean()) / (s.std() or 1.0)
    e = np.exp(z - z.max())
    return (e / e.sum()).tolist()


def _picks(rows: list[dict], feats: Features, seed: int, trained) -> dict:
    """PI baselines: {name: {instance_id: option index}}."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {"random": {}}
    sample = (feats.options(rows[0]), feats.query(rows[0]))
    blind = [n for n in PREDICTORS if not missing_fields(n, *sample)]
    for r in rows:
        iid, options, query = r["instance_id"], feats.options(r), feats.query(r)
        out["random"][iid] = int(rng.integers(r["k"]))
        for i in range(MAX_K):
            out.setdefault(f"fixed_{i}", {})[iid] = min(i, r["k"] - 1)
        for name in blind:
            out.setdefault(name, {})[iid] = PREDICTORS[name](options, query)
        profile = feats.vector[profile_text(r["profile"])]
        sims = np.array([o["vector"] @ profile for o in options])
        out.setdefault("most_similar_profile", {})[iid] = int(np.argmax(sims))
        if trained:
            out.setdefault("trained_logreg", {})[iid] = int(
                np.argmax(trained(feats.option_matrix(r)))
            )
    return out


def _distributions(rows: list[dict], feats: Features, seed: int, trained) -> dict:
    """DP baselines: {name: {instance_id: distribution}}."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for r in rows:
        iid, k = r["instance_id"], r["k"]
        options, q = feats.options(r), feats.query(r)["vector"]
        profile = feats.vector[profile_text(r["profile"])]
        scores = {
            "longest": [len(o["text"]) for o in options],
            "shortest": [-len(o["text"]) for o in options],
            "most_positive": [o["sentiment"] for o in options],
            "most_similar_query": [o["vector"] @ q for o in options],
            "fixed_position": [-i for i in range(k)],
            "most_similar_profile": [o["vector"] @ profile for o in options],
        }
        if trained:
            scores["trained_logreg"] = trained(feats.option_matrix(r))
        out.setdefault("uniform", {})[iid] = [1 / k] * k
        out.setdefault("random", {})[iid] = rng.dirichlet(np.ones(k)).tolist()
        for name, s in scores.items():
            out.setdefault(name, {})[iid] = softmax_of(s)
    return out


def _candidates(rows: list[dict], feats: Features, seed: int, trained) -> dict:
    """CI baselines: {name: {instance_id: candidate index}}."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for r in rows:
        iid, m = r["instance_id"], feats.candidate_matrix(r)
        out.setdefault("random", {})[iid] = int(rng.integers(len(r["candidate_ids"])))
        out.setdefault("fixed_0", {})[iid] = 0
        out.setdefault("most_similar_query", {})[iid] = int(np.argmax(m[:, 0]))
        out.setdefault("most_similar_favourite", {})[iid] = int(np.argmax(m[:, 1]))
        out.setdefault("most_similar_weighted", {})[iid] = int(np.argmax(m[:, 2]))
        if trained:
            out.setdefault("trained_logreg", {})[iid] = int(np.argmax(trained(m)))
    return out


def _trained(task: str, train: list[dict], feats: Features):
    if task == "ci":
        mats = [feats.candidate_matrix(r) for r in train]
        targets = [np.eye(len(r["candidate_ids"]))[r["label"]] for r in train]
    else:
        mats = [feats.option_matrix(r) for r in train]
        key = "distribution" if task == "dp" else "label"
        targets = [
            np.asarray(r["distribution"]) if key == "distribution" else np.eye(r["k"])[r["label"]]
            for r in train
        ]
    return fit_scorer(mats, targets)


def release_baselines(release: Release, *, split: str = "test", seed: int = 0) -> dict:
    """The baseline table of a release split (the trained baseline fits on ``train``)."""
    tasks = ("pi", "dp", "ci")
    rows = {t: release.instances(t, split) for t in tasks}
    train = {t: release.instances(t, "train") for t in tasks}
    feats = Features(release, [r for t in tasks for r in rows[t] + train[t]])
    table: dict = {"meta": {"split": split, "seed": seed, "n": {}, "notes": []}}
    for task in tasks:
        table["meta"]["n"][task] = len(rows[task])
        if not rows[task]:
            table["meta"]["notes"].append(f"{task}: no {split} instances")
            continue
        trained = _trained(task, train[task], feats)
        if trained is None:
            table["meta"]["notes"].append(f"{task}: trained_logreg skipped (no usable train split)")
        make = {"pi": _picks, "dp": _distributions, "ci": _candidates}[task]
        preds = make(rows[task], feats, seed, trained)
        table[task] = {name: _metrics(task, rows[task], by_id) for name, by_id in preds.items()}
        if task in ("pi", "ci"):
            ks = [r["k"] if task == "pi" else len(r["candidate_ids"]) for r in rows[task]]
            table[task]["chance"] = {"accuracy": chance(ks)}
    return table


def _metrics(task: str, rows: list[dict], predictions: dict) -> dict:
    scored = score_task(task, rows, predictions)
    return {
        name: round(m["value"], 6)
        for name, m in scored.items()
        if isinstance(m, dict) and m.get("value") is not None
    }
