"""Stage glue for labels, profiles and the task tables (warehouse in, warehouse out).

Each ``run_*`` opens the warehouse itself, reads frames with SQL, calls the pure transforms in
``transforms/labels.py``, ``transforms/profiles.py`` and ``transforms/tasks.py``, writes the
tables named in ``schemas/`` and returns a JSON-able summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

import schemas
import warehouse
from communitybench.inference.llm import LLMConfig, ask_json
from transforms import labels, tasks
from transforms import profiles as profiles_t

UPSTREAM = (
    "stg_comments",
    "stg_submissions",
    "texts",
    "embeddings",
    "members",
    "memberships",
    "communities",
)


def check_upstream(con: duckdb.DuckDBPyConnection, tables=UPSTREAM) -> None:
    """Raise a message naming the missing tables and the stage that builds them."""
    warehouse.require_tables(
        con,
        *tables,
        hint="run ingest/staging and the embed, members and communities stages first "
        "(`communitybench build-release` runs them all)",
    )


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Replace table ``name`` (DDL from its schema file) with the rows of ``frame``."""
    columns = schemas.load_schema(name).column_names
    warehouse.replace_tables(con, {name: frame.select(columns).to_arrow()})
    return frame.height


def member_join(text_alias: str, scope: str) -> str:
    """SQL joining an authored relation to members and memberships in the configured scope."""
    if scope not in ("subreddit", "global"):
        raise ValueError(f"scope must be subreddit or global, got {scope!r}")
    member_scope = f"{text_alias}.subreddit" if scope == "subreddit" else "'global'"
    return (
        f"join members m on m.author = {text_alias}.author and m.scope = {member_scope} "
        "join memberships ms on ms.member_id = m.member_id and ms.scope = m.scope "
        "and ms.community_id is not null"
    )


def run_labels(
    warehouse_path: Path,
    *,
    scope: str,
    embed_model: str,
    embed_revision: str,
    own_share: float,
    own_min: int,
    option_kwargs: dict,
    estimator_kwargs: dict,
    updown_sources: list[str],
) -> dict:
    """Rebuild thread_ownership, option_sets and distributions; return counts.

    Args:
        option_kwargs: k, k_min, window_s, max_pool, weights for `labels.select_options`.
        estimator_kwargs: a0, b0, max_share, min_votes for `labels.build_distributions`.
    """
    with warehouse.connect(warehouse_path) as con:
        check_upstream(con)
        commenters = con.sql(
            "select c.link_id as thread_id, s.subreddit, ms.member_id, "
            "ms.community_id::varchar as community_id from stg_comments c "
            "join stg_submissions s on s.id = c.link_id and s.drop_reason is null "
            f"{member_join('c', scope)} where c.drop_reason is null"
        ).pl()
        ownership = labels.assign_thread_ownership(commenters, own_share=own_share, own_min=own_min)
        owned = ownership.filter("is_owner").select("thread_id", "community_id")
        con.register("_owned", owned.to_arrow())
        candidates = con.sql(
            "select c.link_id as thread_id, o.community_id, c.subreddit, 't1_' || c.id as "
            "option_id, c.body, c.score, c.ups, c.downs, epoch(c.created_utc) as created_s, "
            "list_contains(?, c.source) as updown_known, e.vector from stg_comments c "
            "join _owned o on o.thread_id = c.link_id "
            "left join texts t on t.item_id = 't1_' || c.id "
            "left join embeddings e on e.text_hash = t.text_hash and e.model = ? "
            "and e.revision = ? where c.drop_reason is null and c.is_top_level",
            params=[list(updown_sources), embed_model, embed_revision],
        ).pl()
        con.unregister("_owned")
        no_vector = candidates.filter(pl.col("vector").is_null()).height
        if no_vector and no_vector == candidates.height:
            raise RuntimeError(
                f"no reply has an embedding for model {embed_model!r} revision "
                f"{embed_revision!r}: run the embed stage with the same [embed] settings"
            )
        candidates = candidates.filter(pl.col("vector").is_not_null())
        candidates = candidates.with_columns(
            pl.Series(
                "sentiment", labels.sentiment_scores(candidates["body"].to_list()), dtype=pl.Float64
            )
        )
        option_sets, skipped = labels.build_option_sets(candidates, **option_kwargs)
        distributions = labels.build_distributions(option_sets, **estimator_kwargs)
        write_table(con, "thread_ownership", ownership)
        write_table(con, "option_sets", option_sets)
        write_table(con, "distributions", distributions)
    return {
        "version": labels.LABELS_VERSION,
        "threads_with_members": ownership["thread_id"].n_unique(),
        "owned_threads": owned.height,
        "option_sets": option_sets.height,
        "option_sets_skipped": skipped,
        "candidates_without_embedding": no_vector,
        "estimators": dict(distributions.group_by("estimator").len().iter_rows()),
        "degenerate": int(distributions["degenerate"].sum()),
    }


def _load_profile_inputs(con, scope: str, embed_model: str, embed_revision: str):
    comms = con.sql(
        "select community_id::varchar as community_id, scope, size, centroid from communities "
        "order by community_id"
    ).pl()
    texts = con.sql(
        "select ms.community_id::varchar as community_id, t.item_id, t.subreddit, t.clean_text, "
        f"e.vector from texts t {member_join('t', scope)} left join embeddings e on "
        "e.text_hash = t.text_hash and e.model = ? and e.revision = ? order by 1, 2",
        params=[embed_model, embed_revision],
    ).pl()
    # share of a community's replies to clustered members that answer a fellow member
    shares = con.execute(
        "with cm as (select c.id, c.parent_id, ms.community_id from stg_comments c "
        f"{member_join('c', scope)} where c.drop_reason is null) "
        "select child.community_id::varchar, avg((child.community_id = parent.community_id)::int) "
        "from cm child join cm parent on child.parent_id = 't1_' || parent.id group by 1"
    ).fetchall()
    authors = con.execute(
        "select author from stg_comments union select author from stg_submissions"
    ).fetchall()
    return comms, texts, dict(shares), profiles_t.identifying_usernames(a for (a,) in authors)


def run_profiles(
    warehouse_path: Path,
    *,
    scope: str,
    embed_model: str,
    embed_revision: str,
    llm: LLMConfig | None,
    no_llm_reason: str | None = None,
    max_text_chars: int,
    progress: bool = False,
    **prepare_kwargs,
) -> dict:
    """Rebuild ``profiles``: LLM-written when ``llm`` is given (answers cached), else extractive.

    Args:
        llm: The endpoint and call policy, or None for extractive profiles.
        no_llm_reason: Why there is no endpoint (recorded as every profile's fallback reason).
        max_text_chars: Characters per representative text in the prompt.
        **prepare_kwargs: n_terms, max_tone_texts, n_central, n_diverse, n_quotes for
            `transforms.profiles.prepare_profiles`.
    """
    with warehouse.connect(warehouse_path) as con:
        check_upstream(con)
        comms, texts, shares, usernames = _load_profile_inputs(
            con, scope, embed_model, embed_revision
        )
        prepared = profiles_t.prepare_profiles(
            texts, comms, reply_shares=shares, usernames=usernames, **prepare_kwargs
        )
        results, stats = [None] * len(prepared), None
        if llm is not None:
            conversations = [
                profiles_t.build_profile_messages(
                    subreddit=p["subreddit"],
                    texts=p["representative_texts"],
                    terms=p["extractive"]["distinctive_terms"],
                    max_text_chars=max_text_chars,
                )
                for p in prepared
            ]
            results, stats = ask_json(
                con,
                llm,
                conversations,
                schema=profiles_t.PROFILE_SCHEMA,
                validate=profiles_t.validate_profile,
                progress=progress,
            )
        rows = [
            profiles_t.profile_row(
                p,
                answer=r.data if r else None,
                reason=r.error if r else no_llm_reason,
                model=llm.model if llm else None,
                prompt_hash=r.prompt_hash if r else None,
                usernames=usernames,
            )
            for p, r in zip(prepared, results, strict=True)
        ]
        write_table(con, "profiles", labels.rows_to_frame(rows, "profiles"))
    methods: dict[str, int] = {}
    for row in rows:
        methods[row["profile_method"]] = methods.get(row["profile_method"], 0) + 1
    return {
        "version": profiles_t.PROFILES_VERSION,
        "communities": len(rows),
        "profile_method": methods,
        "fallback_reasons": sorted({r["fallback_reason"] for r in rows if r["fallback_reason"]}),
        "llm": stats,
    }


_OPTION_SETS_SQL = """
with opts as (
    select option_set_id, unnest(option_ids) as option_id,
        generate_subscripts(option_ids, 1) as pos,
    from option_sets
),
bodies as (
    select opts.option_set_id, list(c.body order by opts.pos) as option_texts,
    from opts join stg_comments c on 't1_' || c.id = opts.option_id
    group by 1
)
select o.option_set_id, o.thread_id, o.community_id, o.subreddit, o.option_ids,
    bodies.option_texts, d.distribution, d.estimator, d.label, d.margin, d.degenerate,
    s.title as query_title, s.selftext as query_body,
from option_sets o
join distributions d on d.option_set_id = o.option_set_id
join bodies on bodies.option_set_id = o.option_set_id
join stg_submissions s on s.id = o.thread_id
order by o.thread_id
"""

_REPLIES_SQL = """
select c.link_id as thread_id, 't1_' || c.id as option_id, c.body, c.score,
from stg_comments c join option_sets o on o.thread_id = c.link_id
where c.drop_reason is null and c.is_top_level and c.score > 0
"""


def run_task_tables(
    warehouse_path: Path,
    *,
    pi_margin: float,
    ccg_references: int,
    ci_candidates: int,
    ci_hard: int,
    seed: int,
) -> dict:
    """Rebuild task_pi, task_dp, task_ccg and task_ci; return counts per task and community."""
    needed = (
        "stg_comments",
        "stg_submissions",
        "communities",
        "option_sets",
        "distributions",
        "profiles",
    )
    with warehouse.connect(warehouse_path) as con:
        check_upstream(con, needed)
        option_sets = con.sql(_OPTION_SETS_SQL).pl().to_dicts()
        replies = con.sql(_REPLIES_SQL).pl().to_dicts()
        profiles = {
            c: json.loads(p)
            for c, p in con.execute("select community_id, profile from profiles").fetchall()
        }
        centroids = {
            c: v
            for c, v in con.execute(
                "select community_id::varchar, centroid from communities where centroid is not null"
            ).fetchall()
        }
        rows, skipped = tasks.build_instances(
            option_sets,
            profiles=profiles,
            references=tasks.top_references(replies, n=ccg_references),
            centroids=centroids,
            pi_margin=pi_margin,
            ci_candidates=ci_candidates,
            ci_hard=ci_hard,
            seed=seed,
        )
        kept = _kept_instances(con, rows)
        for task in tasks.TASKS:
            write_table(con, f"task_{task}", labels.rows_to_frame(rows[task], f"task_{task}"))
    return {
        "version": tasks.TASKS_VERSION,
        **tasks.count_instances(rows),
        "instances_kept": kept,
        "skipped": skipped,
    }


def _kept_instances(con: duckdb.DuckDBPyConnection, rows: dict[str, list[dict]]) -> dict:
    """Per task, this build's instances whose id (a hash of their inputs) the previous had."""
    kept = {}
    for task in tasks.TASKS:
        table = f"task_{task}"
        before = set()
        if warehouse.table_exists(con, table):
            before = {r[0] for r in con.execute(f"select instance_id from {table}").fetchall()}
        kept[task] = sum(row["instance_id"] in before for row in rows[task])
    return kept
