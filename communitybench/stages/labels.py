"""Stage ``labels``: thread ownership → option sets → preference distributions.

A thread speaks for community c when c's members make up at least ``own_share`` of its
member-commenters (and at least ``own_min`` of them). An exposure model fitted on every thread
per forum (``transforms/exposure.py``: delay after the submission, reply rank, thread size) gives
each kept top-level reply its expected votes. Each owned thread's replies are the candidate
options; ``transforms/labels.py`` picks k of them (semantic divergence, sentiment spread, score
contrast, posted within a window of each other, with comparable expected exposure) and
estimates the community's distribution over them from exposure-adjusted votes (Beta on real
up/down votes, Dirichlet on scores), the raw-vote estimate kept beside it.
"""

from __future__ import annotations

import hashlib

import polars as pl

import warehouse
from communitybench.config import CommunitiesConfig, EmbedConfig, TasksConfig
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms import exposure, labels
from transforms.community_levels import LEVELS
from warehouse import StageInputError

CANDIDATE_COLUMNS = (
    "thread_id",
    "community_id",
    "subreddit",
    "option_id",
    "body",
    "score",
    "ups",
    "downs",
    "created_s",
    "updown_known",
    "vector",
    "delay_s",
    "reply_rank",
    "length",
    "expected_exposure",
)


OWNERSHIP_COLUMNS = (
    "thread_id",
    "community_id",
    "level",
    "subreddit",
    "share",
    "n_members",
    "n_thread_members",
    "is_owner",
)


class Params(StageParams):
    embed: EmbedConfig
    communities: CommunitiesConfig  # its scope decides which members a comment counts as
    tasks: TasksConfig


def run(con, params: Params) -> StageResult:
    """Rebuild thread_ownership, option_sets and distributions."""
    t, scope = params.tasks, params.communities.scope
    commenters = warehouse.query(con, "int_thread_commenters", {"scope": scope}).pl()
    ownership = _ownership_per_level(commenters, t)
    owned = ownership.filter("is_owner").select("thread_id", "community_id", "level")
    model = {"model": params.embed.model, "revision": params.embed.revision}
    replies = warehouse.query(
        con, "int_reply_candidates", {**model, "updown_sources": list(t.updown_sources)}
    ).pl()
    models = exposure.fit_exposure(
        replies.rename({"subreddit": "forum", "score": "votes"}),
        prior_replies=t.exposure_prior_replies,
        fit=t.exposure_fit,
    )
    replies = replies.with_columns(
        pl.Series(
            "expected_exposure",
            exposure.expected_votes(replies.rename({"subreddit": "forum"}), models),
            dtype=pl.Float64,
        )
    )
    # options depend on the thread only: chosen once, then one option set per owner and level
    first_owner = owned.unique("thread_id", keep="first", maintain_order=True).drop("level")
    candidates = replies.join(first_owner, on="thread_id", how="inner").select(CANDIDATE_COLUMNS)
    no_vector = candidates.filter(pl.col("vector").is_null()).height
    if no_vector and no_vector == candidates.height:
        raise StageInputError(
            f"no reply has an embedding for model {params.embed.model!r} revision "
            f"{params.embed.revision!r}: run the embeddings stage with the same [embed] settings"
        )
    candidates = candidates.filter(pl.col("vector").is_not_null())
    candidates = candidates.with_columns(
        pl.Series(
            "sentiment", labels.sentiment_scores(candidates["body"].to_list()), dtype=pl.Float64
        )
    )
    per_thread, skipped = labels.build_option_sets(
        candidates,
        k=t.k,
        k_min=min(t.k_min, t.k),
        window_s=t.option_window_hours * 3600.0,
        max_exposure_ratio=t.max_exposure_ratio,
        max_pool=t.max_pool,
        weights=(t.w_semantic, t.w_affect, t.w_popularity),
    )
    option_sets = _per_level(per_thread, owned)
    distributions = labels.build_distributions(
        option_sets, a0=t.a0, b0=t.b0, max_share=t.dp_max_share, min_votes=t.min_votes
    ).with_columns(level=option_sets["level"])  # rows in option set order
    tables = {
        "exposure_model": labels.rows_to_frame(models, "exposure_model"),
        "thread_ownership": ownership,
        "option_sets": option_sets,
        "distributions": distributions,
    }
    warehouse.replace_tables(con, {name: frame.to_arrow() for name, frame in tables.items()})
    estimators = dict(distributions.group_by("estimator").len().sort("estimator").iter_rows())
    per_level = {
        level: {
            "owned_threads": owned.filter(pl.col("level") == level).height,
            "option_sets": option_sets.filter(pl.col("level") == level).height,
        }
        for level in LEVELS
    }
    threads = ownership["thread_id"].n_unique()
    return StageResult(
        name="labels",
        version=labels.LABELS_VERSION,
        work=(Work("option_sets", computed=option_sets.height),),
        dropped={**skipped, "replies_without_embedding": no_vector},
        notes=(
            f"owned threads: {owned['thread_id'].n_unique():,} of {threads:,}; option sets: "
            f"{option_sets.height:,}; per level: {per_level}; estimators: {estimators}",
        ),
        details={
            "version": labels.LABELS_VERSION,
            "threads_with_members": threads,
            "owned_threads": owned["thread_id"].n_unique(),
            "per_level": per_level,
            "option_sets": option_sets.height,
            "option_sets_skipped": skipped,
            "candidates_without_embedding": no_vector,
            "estimators": estimators,
            "degenerate": int(distributions["degenerate"].sum()),
            "exposure_version": exposure.EXPOSURE_VERSION,
            "exposure_model": {m["forum"]: m["coefficients"] for m in models},
            "label_robust": int(distributions["label_robust"].sum()),
            "label_changed_by_exposure": int(
                (distributions["label"] != distributions["label_raw"]).sum()
            ),
        },
    )


def _ownership_per_level(commenters: pl.DataFrame, t: TasksConfig) -> pl.DataFrame:
    """Thread ownership decided within each level (forum communities compete with forum
    communities, sub-communities with sub-communities), with a ``level`` column."""
    parts = [
        labels.assign_thread_ownership(
            commenters.filter(pl.col("level") == level).drop("level"),
            own_share=t.own_share,
            own_min=t.own_min,
        ).with_columns(level=pl.lit(level))
        for level in LEVELS
    ]
    return pl.concat(parts).select(OWNERSHIP_COLUMNS).sort("thread_id", "community_id")


def _per_level(per_thread: pl.DataFrame, owned: pl.DataFrame) -> pl.DataFrame:
    """One option set per thread and owner: the thread's options with each level's owner; ids
    hash the level with the thread's option set id."""
    joined = per_thread.drop("community_id", "level").join(
        owned, on="thread_id", how="inner", maintain_order="left"
    )
    new_id = pl.concat_str(pl.col("level"), pl.lit(":"), pl.col("option_set_id")).map_elements(
        lambda s: hashlib.sha256(s.encode()).hexdigest()[:20], return_dtype=pl.String
    )
    out = joined.with_columns(option_set_id=new_id).sort("level", "thread_id")
    return out.select(labels.rows_to_frame([], "option_sets").columns)


def carried_work(con) -> tuple[Work, ...]:
    return (Work("option_sets", reused=warehouse.row_count(con, "option_sets")),)


STAGE = Stage(
    name="labels",
    version=labels.LABELS_VERSION,
    params=Params,
    run=run,
    doc="exposure model, thread ownership, option sets and preference distributions",
    inputs=("stg_comments", "stg_submissions", "texts", "embeddings", "members", "memberships"),
    outputs=("exposure_model", "thread_ownership", "option_sets", "distributions"),
    reusable=True,
    carried_work=carried_work,
)
