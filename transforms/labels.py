"""Labels: thread ownership, option sets and the community's distribution over options.

Pure functions over polars frames and numpy arrays (no I/O, no clock). The estimators follow
DESIGN.md ("Queries, options and distributions") and the CommunityBench paper (Lin & Wei, 2026):
a Beta posterior mean per option when up and down votes are known, normalised over options, and
a Dirichlet posterior mean of the vote share when only a net score is known.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import polars as pl
import pyarrow as pa

import schemas
from transforms.exposure import adjust_counts

LABELS_VERSION = "labels_v5"  # v2: U and D only where rows carry them; v3: per community level;
# v4: exposure-adjusted distributions, comparable-exposure options; v5: Poisson exposure fit
BETA_UPDOWN = "beta_updown"
DIRICHLET_SCORE = "dirichlet_score"
EXPOSURE_SUFFIX = "_exposure"  # estimator names of the exposure-adjusted estimates
ROBUST_STRENGTHS = (0.5, 1.5)  # a robust label keeps its place at half and 1.5x the adjustment


def assign_thread_ownership(
    commenters: pl.DataFrame, *, own_share: float, own_min: int
) -> pl.DataFrame:
    """Share of each thread's member-commenters per community, and the owner (if any).

    Args:
        commenters: thread_id, subreddit, member_id, community_id, one row per comment or per
            member; noise members (null community) are excluded by the caller, so shares are
            over clustered members.
        own_share: The owner holds at least this share of the thread's member-commenters...
        own_min: ...and at least this many of them are present.

    Returns:
        thread_id, community_id, subreddit, share, n_members, n_thread_members, is_owner. At
        most one owner per thread: the unique largest share, if it passes both thresholds.
    """
    counts = (
        commenters.unique(["thread_id", "member_id", "community_id"])
        .group_by(["thread_id", "subreddit", "community_id"])
        .agg(pl.len().cast(pl.Int64).alias("n_members"))
    )
    counts = counts.with_columns(
        pl.col("n_members").sum().over("thread_id").alias("n_thread_members")
    ).with_columns((pl.col("n_members") / pl.col("n_thread_members")).alias("share"))
    top = pl.col("share").max().over("thread_id")
    n_top = (pl.col("share") == top).sum().over("thread_id")
    owner = (
        (pl.col("share") == top)
        & (n_top == 1)
        & (pl.col("share") >= own_share)
        & (pl.col("n_members") >= own_min)
    )
    return counts.with_columns(owner.alias("is_owner")).sort(["thread_id", "community_id"])


def dirichlet_vote_share(scores, *, a0: float) -> np.ndarray:
    """Dirichlet posterior mean of the vote share: (a0 + max(s_i, 0)) / sum_j (a0 + max(s_j, 0))."""
    counts = a0 + np.maximum(np.asarray(scores, dtype=float), 0.0)
    return counts / counts.sum()


def beta_approval(ups, downs, *, a0: float, b0: float) -> np.ndarray:
    """Beta posterior approval r_i = (a0 + U_i) / (a0 + b0 + U_i + D_i), normalised over options."""
    up, down = np.asarray(ups, dtype=float), np.asarray(downs, dtype=float)
    rates = (a0 + up) / (a0 + b0 + up + down)
    return rates / rates.sum()


def estimate_distribution(
    *,
    scores,
    ups,
    downs,
    updown_known: bool,
    a0: float,
    b0: float,
    exposure=None,
    strength: float = 1.0,
) -> tuple[np.ndarray, str, int]:
    """The community's distribution over options, the estimator used and the votes it rests on.

    Args:
        scores: Net score per option.
        ups: Up votes per option (ignored unless ``updown_known``).
        downs: Down votes per option (ignored unless ``updown_known``).
        updown_known: The source reports real down votes (Reddit comments do not: `downs` is 0).
        a0: Prior pseudo-count of approval (both estimators).
        b0: Prior pseudo-count of disapproval (Beta only).
        exposure: Expected votes per option (``transforms/exposure.py``); given, the votes are
            divided by it (rescaled to the same total, ``adjust_counts``) before estimating,
            and the estimator's name ends in ``_exposure``. None: the raw-vote estimate.
        strength: Exponent on the exposure (1 = the fitted model; robustness checks vary it).
    """
    suffix = "" if exposure is None else EXPOSURE_SUFFIX
    if updown_known:
        up, down = np.asarray(ups, dtype=float), np.asarray(downs, dtype=float)
        n_votes = int(up.sum() + down.sum())
        if exposure is not None:  # exposure scales both: the approval rate keeps its evidence
            both = adjust_counts(up + down, exposure, strength=strength)
            scale = np.divide(both, up + down, out=np.zeros_like(both), where=(up + down) > 0)
            up, down = up * scale, down * scale
        return beta_approval(up, down, a0=a0, b0=b0), BETA_UPDOWN + suffix, n_votes
    votes = np.maximum(np.asarray(scores, dtype=float), 0)
    if exposure is not None:
        votes = adjust_counts(votes, exposure, strength=strength)
    return (
        dirichlet_vote_share(votes, a0=a0),
        DIRICHLET_SCORE + suffix,
        int(np.maximum(np.asarray(scores, dtype=float), 0).sum()),
    )


def top_margin(distribution) -> tuple[int, float]:
    """Index of the largest share (first on ties) and its margin over the runner-up."""
    p = np.asarray(distribution, dtype=float)
    order = np.argsort(-p, kind="stable")
    return int(order[0]), float(p[order[0]] - p[order[1]]) if len(p) > 1 else 1.0


def is_degenerate(distribution, *, n_votes: int, max_share: float, min_votes: int) -> bool:
    """No usable signal: too few votes behind it, or (nearly) all mass on one option."""
    return n_votes < min_votes or float(np.max(distribution)) > max_share


def _subset_score(
    idx: tuple[int, ...], dist: np.ndarray, sent: np.ndarray, pop: np.ndarray, w: tuple
) -> tuple[float, float, float, float]:
    sub = dist[np.ix_(idx, idx)] + np.diag(np.full(len(idx), np.inf))
    semantic = float(sub.min(axis=1).mean())  # near-duplicates pull it to 0
    affective = float(np.ptp(sent[list(idx)]) / 2.0)
    popularity = float(np.ptp(pop[list(idx)]))
    total = w[0] * semantic + w[1] * affective + w[2] * popularity
    return total, semantic, affective, popularity


def _pool(scores: np.ndarray, max_pool: int) -> np.ndarray:
    """Indices of at most ``max_pool`` candidates spread evenly over the score ranks."""
    order = np.argsort(-scores, kind="stable")
    if len(order) <= max_pool:
        return np.sort(order)
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, max_pool)).astype(int))
    return np.sort(order[picks])


def select_options(
    *,
    vectors: np.ndarray,
    sentiment: np.ndarray,
    scores: np.ndarray,
    created_s: np.ndarray,
    k: int,
    k_min: int,
    window_s: float,
    max_pool: int,
    weights: tuple[float, float, float],
    exposure: np.ndarray | None = None,
    max_exposure_ratio: float | None = None,
) -> dict | None:
    """Choose k options maximising semantic, affective and popularity spread.

    Every subset of a pool of at most ``max_pool`` candidates is scored by w_sem * mean cosine
    distance to the nearest other option + w_aff * sentiment range / 2 + w_pop * range of
    log(1 + score) relative to the pool's top; only subsets whose posting times lie within
    ``window_s`` of each other, and whose expected exposures (``exposure``, expected votes)
    lie within a factor ``max_exposure_ratio`` of each other, qualify: options time order
    cannot decide (a guard against early-comment advantage). With ``exposure``, the pool and the
    popularity contrast use votes per unit of exposure (``adjust_counts``): contrast in raw
    votes would pick sets whose top option is both liked and early, so that "earliest" would
    answer them. When no subset of size k qualifies, smaller ones down to ``k_min`` are tried.

    Returns:
        {"indices", "objective", "semantic", "affective", "popularity", "span_s",
        "exposure_ratio"}, or None.
    """
    scores = np.asarray(scores, dtype=float)
    if exposure is not None:  # votes per unit of exposure: raw contrast would favour early replies
        scores = adjust_counts(scores, exposure)
    pool = _pool(scores, max_pool)
    if len(pool) < k_min:
        return None
    vec = np.asarray(vectors, dtype=float)[pool]
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    dist = 1.0 - vec @ vec.T
    pop = np.log1p(np.maximum(scores[pool], 0.0))
    pop = pop / pop.max() if pop.max() > 0 else pop
    sent, times = np.asarray(sentiment, dtype=float)[pool], np.asarray(created_s)[pool]
    log_exp = np.zeros(len(pool))
    if exposure is not None:
        log_exp = np.log(np.maximum(np.asarray(exposure, dtype=float)[pool], 1e-12))
    max_log_ratio = np.inf if max_exposure_ratio is None else np.log(max_exposure_ratio)
    for size in range(min(k, len(pool)), k_min - 1, -1):
        best = None
        for idx in itertools.combinations(range(len(pool)), size):
            span = float(times[list(idx)].max() - times[list(idx)].min())
            log_ratio = float(np.ptp(log_exp[list(idx)]))
            if span > window_s or log_ratio > max_log_ratio + 1e-12:
                continue
            score = _subset_score(idx, dist, sent, pop, weights)
            if best is None or score[0] > best[0][0] + 1e-12:
                best = (score, idx, span, log_ratio)
        if best is not None:
            (total, semantic, affective, popularity), idx, span, log_ratio = best
            return {
                "indices": [int(pool[i]) for i in idx],
                "objective": total,
                "semantic": semantic,
                "affective": affective,
                "popularity": popularity,
                "span_s": span,
                "exposure_ratio": float(np.exp(log_ratio)),
            }
    return None


def shuffle_key(thread_id: str, option_id: str) -> str:
    """Deterministic, content-free order of options (position must not reveal the label)."""
    return hashlib.sha256(f"{thread_id}:{option_id}".encode()).hexdigest()


def build_option_sets(candidates: pl.DataFrame, **select_kwargs) -> tuple[pl.DataFrame, dict]:
    """One option set per owned thread from its kept top-level replies.

    Args:
        candidates: thread_id, community_id, subreddit, option_id, score, ups, downs, created_s,
            sentiment, vector, updown_known, delay_s, reply_rank, length, expected_exposure —
            one row per kept top-level reply of an owned thread.
        **select_kwargs: k, k_min, window_s, max_pool, weights, max_exposure_ratio for
            `select_options`.

    Returns:
        The option sets (options in a hash-shuffled order) and counts of threads skipped by reason.
    """
    rows, skipped = [], {"too_few_candidates": 0, "no_comparable_subset": 0}
    for (thread_id,), group in candidates.sort("option_id").group_by(
        ["thread_id"], maintain_order=True
    ):
        if group.height < select_kwargs["k_min"]:
            skipped["too_few_candidates"] += 1
            continue
        chosen = select_options(
            vectors=np.vstack(group["vector"].to_list()),
            sentiment=group["sentiment"].to_numpy(),
            scores=group["score"].fill_null(0).to_numpy(),
            created_s=group["created_s"].to_numpy(),
            exposure=group["expected_exposure"].to_numpy(),
            **select_kwargs,
        )
        if chosen is None:
            skipped["no_comparable_subset"] += 1
            continue
        picked = group[chosen.pop("indices")]
        picked = picked.with_columns(
            pl.col("option_id")
            .map_elements(lambda o, t=thread_id: shuffle_key(t, o), return_dtype=pl.String)
            .alias("_key")
        ).sort("_key")
        rows.append(_option_set_row(thread_id, group, picked, chosen))
    return rows_to_frame(rows, "option_sets"), skipped


def _option_set_row(thread_id: str, group: pl.DataFrame, picked: pl.DataFrame, chosen: dict):
    option_ids = picked["option_id"].to_list()
    digest = hashlib.sha256(json.dumps([thread_id, option_ids]).encode()).hexdigest()[:20]
    return {
        "option_set_id": digest,
        "thread_id": thread_id,
        "community_id": group["community_id"][0],
        "subreddit": group["subreddit"][0],
        "k": picked.height,
        "n_candidates": group.height,
        "option_ids": option_ids,
        "scores": picked["score"].fill_null(0).to_list(),
        "ups": picked["ups"].fill_null(0).to_list(),
        "downs": picked["downs"].fill_null(0).to_list(),
        "sentiment": picked["sentiment"].to_list(),
        "updown_known": bool(picked["updown_known"].all()),
        "delay_s": picked["delay_s"].to_list(),
        "reply_rank": picked["reply_rank"].to_list(),
        "length": picked["length"].to_list(),
        "expected_exposure": picked["expected_exposure"].to_list(),
        **chosen,
    }


def build_distributions(
    option_sets: pl.DataFrame, *, a0: float, b0: float, max_share: float, min_votes: int
) -> pl.DataFrame:
    """Per option set: the exposure-adjusted distribution, its estimator, votes, argmax label,
    margin, degeneracy, whether the label survives half and 1.5x the adjustment, and the
    raw-vote estimate beside it (for audit)."""
    rows = []
    for row in option_sets.iter_rows(named=True):
        votes = {k: row[k] for k in ("scores", "ups", "downs", "updown_known")}
        votes = {"scores": votes.pop("scores"), **votes, "a0": a0, "b0": b0}
        exposure = row["expected_exposure"]
        p, estimator, n_votes = estimate_distribution(**votes, exposure=exposure)
        raw, estimator_raw, _ = estimate_distribution(**votes)
        label, margin = top_margin(p)
        label_raw, margin_raw = top_margin(raw)
        robust = all(
            top_margin(estimate_distribution(**votes, exposure=exposure, strength=s)[0])[0] == label
            for s in ROBUST_STRENGTHS
        )
        rows.append(
            {
                "option_set_id": row["option_set_id"],
                "thread_id": row["thread_id"],
                "community_id": row["community_id"],
                "option_ids": row["option_ids"],
                "distribution": [float(x) for x in p],
                "estimator": estimator,
                "a0": a0,
                "b0": b0,
                "n_votes": n_votes,
                "label": label,
                "margin": margin,
                "label_robust": robust,
                "degenerate": is_degenerate(
                    p, n_votes=n_votes, max_share=max_share, min_votes=min_votes
                ),
                "distribution_raw": [float(x) for x in raw],
                "estimator_raw": estimator_raw,
                "label_raw": label_raw,
                "margin_raw": margin_raw,
            }
        )
    return rows_to_frame(rows, "distributions")


def jensen_shannon(p, q) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return (kl(p) + kl(q)) / 2


def sentiment_scores(texts: list[str], *, max_chars: int = 1000) -> list[float]:
    """VADER compound polarity in [-1, 1] (Hutto & Gilbert, 2014; the lexicon ships with it).

    Only the first ``max_chars`` characters are scored: VADER's negation scan grows
    quadratically with length, and a reply's stance shows in its opening.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [float(analyzer.polarity_scores((t or "")[:max_chars])["compound"]) for t in texts]


def rows_to_frame(rows: list[dict], table: str) -> pl.DataFrame:
    """Rows as a polars frame typed by ``schemas/<table>.toml`` (empty rows keep the columns)."""
    schema = schemas.arrow_schema(schemas.load_schema(table))
    return pl.from_arrow(pa.Table.from_pylist(rows, schema=schema))
