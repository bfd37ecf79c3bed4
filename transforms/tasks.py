"""Task instances (PI, DP, CCG, CI) from option sets, distributions, queries and profiles.

Pure functions over plain rows (no I/O, no clock). Each instance carries a stable
``instance_id``: the sha256 of its task and inputs (community, query, options, CI candidates), so
a rebuild over the same data yields the same ids. CI distractors are the nearest other
communities by centroid (hard) and random others (easy), drawn from a generator seeded by the
instance's inputs.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

TASKS_VERSION = "tasks_v3"  # v3: PI labels must survive the exposure adjustment
TASKS = ("pi", "dp", "ccg", "ci")


def make_instance_id(task: str, **inputs) -> str:
    """sha256 of the task and its inputs (canonical JSON), first 20 hex characters."""
    blob = json.dumps({"task": task, **inputs}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _rng(*parts) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def choose_ci_candidates(
    true_id: str,
    *,
    centroids: dict[str, np.ndarray],
    n_candidates: int,
    n_hard: int,
    seed: int,
    key: str,
    siblings: frozenset[str] = frozenset(),
) -> tuple[list[str], int, int]:
    """Candidate communities for CI: the true one, the nearest by centroid, then random ones.

    Hard distractors come from ``siblings`` first (the sub-communities of the same forum, nearest
    by centroid), then from the nearest others; the random ones from the rest.

    Args:
        true_id: The community that produced the distribution.
        centroids: Every community's centroid (embedding space).
        n_candidates: K, the number of candidates (capped by the number of communities).
        n_hard: How many distractors are the nearest communities by cosine similarity.
        seed: Build seed; with ``key`` it seeds the random distractors and the order.
        key: The instance's inputs (e.g. its thread and option ids).
        siblings: Communities preferred as hard distractors (same forum, same level).

    Returns:
        (candidate ids in shuffled order, index of the true one, hard distractors used).
    """
    others = sorted(c for c in centroids if c != true_id)
    k = min(n_candidates, len(others) + 1)
    n_hard = min(n_hard, k - 1)
    ids, matrix = (
        others,
        np.array([centroids[c] for c in others], dtype=float).reshape(len(others), -1),
    )
    true_vec = np.asarray(centroids[true_id], dtype=float)
    sims = (
        matrix
        @ true_vec
        / np.maximum(np.linalg.norm(matrix, axis=1) * np.linalg.norm(true_vec), 1e-12)
    )
    ranked = [ids[i] for i in np.argsort(-sims, kind="stable")]
    ranked = [c for c in ranked if c in siblings] + [c for c in ranked if c not in siblings]
    hard = ranked[:n_hard]
    rng = _rng(seed, key, true_id)
    rest = [c for c in others if c not in hard]
    easy = [rest[i] for i in sorted(rng.choice(len(rest), k - 1 - n_hard, replace=False))]
    candidates = [true_id, *hard, *easy]
    order = rng.permutation(len(candidates))
    shuffled = [candidates[i] for i in order]
    return shuffled, shuffled.index(true_id), n_hard


def base_row(option_set: dict) -> dict:
    """Columns every task table shares, from an option set joined with its query and texts."""
    return {
        "community_id": option_set["community_id"],
        "level": option_set["level"],
        "subreddit": option_set["subreddit"],
        "thread_id": option_set["thread_id"],
        "query_id": "t3_" + option_set["thread_id"],
        "query_title": option_set["query_title"],
        "query_body": option_set["query_body"],
        "option_ids": list(option_set["option_ids"]),
        "option_texts": list(option_set["option_texts"]),
        "k": len(option_set["option_ids"]),
    }


def _with_id(task: str, row: dict, **extra_inputs) -> dict:
    inputs = {
        "community_id": row["community_id"],
        "query_id": row["query_id"],
        "option_ids": row["option_ids"],
        **extra_inputs,
    }
    return {"instance_id": make_instance_id(task, **inputs), **row}


def build_instances(
    option_sets: list[dict],
    *,
    profiles: dict[str, dict],
    references: dict[str, list[tuple[str, str]]],
    centroids: dict[str, np.ndarray],
    parents: dict[str, tuple[str, str | None]] | None = None,
    pi_margin: float,
    ci_candidates: int,
    ci_hard: int,
    seed: int,
) -> tuple[dict[str, list[dict]], dict[str, dict[str, int]]]:
    """Rows of the four task tables, and per task the option sets left out by reason.

    Args:
        option_sets: Option sets joined with their distribution (distribution, estimator, label,
            margin, label_robust, degenerate), query (query_title, query_body) and option_texts.
        profiles: Profile JSON per community (must not contain usernames).
        references: Per thread, the most-endorsed replies (fullname, text), best first.
        centroids: Community centroids, for CI distractors.
        parents: (level, parent forum id) per community: CI candidates are communities of the
            instance's level; a sub-community's hard distractors are its siblings first, the
            others come from other forums. None: every community is one level.
        pi_margin: PI needs this margin between the top two shares, and a label that stays
            on top at half and 1.5x the exposure adjustment (``label_robust``).
        ci_candidates: K candidate communities per CI instance.
        ci_hard: How many of the distractors are nearest by centroid.
        seed: Seeds the random CI distractors.
    """
    rows = {task: [] for task in TASKS}
    skipped = {task: {} for task in TASKS}

    def skip(task: str, reason: str) -> None:
        skipped[task][reason] = skipped[task].get(reason, 0) + 1

    for s in option_sets:
        base = base_row(s)
        profile = json.dumps(profiles[s["community_id"]], sort_keys=True, ensure_ascii=False)
        target = {"distribution": list(s["distribution"]), "estimator": s["estimator"]}
        if s["margin"] < pi_margin:
            skip("pi", "margin_below_pi_margin")
        elif not s["label_robust"]:
            skip("pi", "label_not_robust_to_exposure")
        else:
            pi = {**base, "profile": profile, "label": s["label"], "margin": s["margin"]}
            rows["pi"].append(_with_id("pi", {**pi, "estimator": s["estimator"]}))
        if s["degenerate"]:
            skip("dp", "degenerate")
            skip("ci", "degenerate")
        else:
            rows["dp"].append(_with_id("dp", {**base, "profile": profile, **target}))
            pool, siblings = _ci_pool(base["community_id"], centroids, parents)
            ci = _ci_row(base, target, profiles, pool, siblings, (ci_candidates, ci_hard), seed)
            if ci:
                rows["ci"].append(ci)
            else:
                skip("ci", "fewer_than_two_communities")
        refs = references.get(s["thread_id"], [])
        if refs:
            ccg = {
                **base,
                "profile": profile,
                "reference_ids": [r[0] for r in refs],
                "reference_texts": [r[1] for r in refs],
            }
            rows["ccg"].append(_with_id("ccg", ccg))
        else:
            skip("ccg", "no_endorsed_reply")
    return rows, skipped


def _ci_pool(true_id: str, centroids: dict, parents: dict | None) -> tuple[dict, frozenset]:
    """The candidate pool of a CI instance (its level's communities) and its siblings."""
    if parents is None or true_id not in parents:
        return centroids, frozenset()
    level, parent = parents[true_id]
    pool = {c: v for c, v in centroids.items() if parents.get(c, (None,))[0] == level}
    siblings = frozenset(
        c for c in pool if c != true_id and parent is not None and parents[c][1] == parent
    )
    return pool, siblings


def _ci_row(base, target, profiles, centroids, siblings, sizes, seed) -> dict | None:
    n_candidates, n_hard = sizes
    if len(centroids) < 2 or base["community_id"] not in centroids:
        return None
    key = json.dumps([base["query_id"], base["option_ids"]])
    ids, label, used_hard = choose_ci_candidates(
        base["community_id"],
        centroids=centroids,
        n_candidates=n_candidates,
        n_hard=n_hard,
        seed=seed,
        key=key,
        siblings=siblings,
    )
    candidate_profiles = json.dumps([profiles[c] for c in ids], sort_keys=True, ensure_ascii=False)
    row = {
        **base,
        **target,
        "candidate_ids": ids,
        "candidate_profiles": candidate_profiles,
        "label": label,
        "n_hard": used_hard,
    }
    return _with_id("ci", row, candidate_ids=ids)


def top_references(replies: list[dict], *, n: int) -> dict[str, list[tuple[str, str]]]:
    """Per thread, the ``n`` highest-scored replies with a positive score (ties by id).

    Args:
        replies: thread_id, option_id (fullname), body, score — kept top-level replies.
    """
    by_thread: dict[str, list[dict]] = {}
    for r in replies:
        if (r["score"] or 0) > 0:
            by_thread.setdefault(r["thread_id"], []).append(r)
    return {
        t: [
            (r["option_id"], r["body"])
            for r in sorted(rs, key=lambda r: (-r["score"], r["option_id"]))[:n]
        ]
        for t, rs in by_thread.items()
    }


def count_instances(rows: dict[str, list[dict]]) -> dict:
    """Instances per task, per level per task and per community per task (build summary)."""
    per_community: dict[str, dict[str, int]] = {}
    per_level: dict[str, dict[str, int]] = {}
    for task, task_rows in rows.items():
        for row in task_rows:
            counts = per_community.setdefault(row["community_id"], dict.fromkeys(TASKS, 0))
            counts[task] += 1
            level = per_level.setdefault(row.get("level") or "-", dict.fromkeys(TASKS, 0))
            level[task] += 1
    return {
        "per_task": {task: len(rows[task]) for task in TASKS},
        "per_level": dict(sorted(per_level.items())),
        "per_community": dict(sorted(per_community.items())),
    }
