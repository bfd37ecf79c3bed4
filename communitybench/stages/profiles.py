"""Stage ``profiles``: each community's hierarchical profile (common identity, common bond,
summary), written by an LLM from representative texts, or extractive offline.

The LLM is any OpenAI-compatible endpoint named by COMMUNITYBENCH_LLM_BASE_URL and
COMMUNITYBENCH_LLM_MODEL (the key from COMMUNITYBENCH_LLM_API_KEY), read from the environment when
the stage runs so it never reaches the config or Prefect's records. Answers are cached in
``llm_cache`` (a rebuild asks nothing twice); without an endpoint, or when the LLM keeps
failing, the profile is extractive (distinctive terms, quotes, tone) and says why.
"""

from __future__ import annotations

import polars as pl

import warehouse
from communitybench.config import CommunitiesConfig, EmbedConfig, ProfilesConfig
from communitybench.inference.llm import LLMConfig, ask_json
from communitybench.settings import Settings, get_settings
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms import labels
from transforms import profiles as profiles_t
from transforms.profile_schema import PROFILE_SCHEMA, validate_profile

NO_ENDPOINT = (
    "no LLM endpoint configured (set COMMUNITYBENCH_LLM_BASE_URL and COMMUNITYBENCH_LLM_MODEL "
    "for LLM-written profiles)"
)


class Params(StageParams):
    embed: EmbedConfig
    communities: CommunitiesConfig
    profiles: ProfilesConfig


def llm_config(profiles: ProfilesConfig, settings: Settings) -> LLMConfig | None:
    """The endpoint (from the environment) and call policy (from [profiles]), or None."""
    if not (settings.llm_base_url and settings.llm_model):
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    p = profiles
    return LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=key,
        temperature=p.llm_temperature,
        max_tokens=p.llm_max_tokens,
        max_retries=p.llm_max_retries,
        backoff_s=p.llm_backoff_s,
        backoff_max_s=p.llm_backoff_max_s,
        timeout_s=p.llm_timeout_s,
        concurrency=p.llm_concurrency,
    )


def run(con, params: Params) -> StageResult:
    """Rebuild ``profiles``: LLM-written when an endpoint is configured, else extractive."""
    p, scope = params.profiles, params.communities.scope
    model = {"model": params.embed.model, "revision": params.embed.revision}
    communities = (
        con.table("communities")
        .filter("published")  # unstable sub-communities get no profile
        .select("community_id, scope, size, centroid")
        .order("community_id")
        .pl()
    )
    texts = warehouse.query(con, "int_community_texts", {**model, "scope": scope}).pl()
    shares = dict(warehouse.query(con, "int_reply_shares", {"scope": scope}).fetchall())
    authors = warehouse.query(con, "int_staging_authors").fetchall()
    usernames = profiles_t.identifying_usernames(a for (a,) in authors)
    prepared = profiles_t.prepare_profiles(
        texts,
        communities,
        reply_shares=shares,
        usernames=usernames,
        n_terms=p.n_terms,
        max_tone_texts=p.max_tone_texts,
        n_central=p.n_central,
        n_diverse=p.n_diverse,
        n_quotes=p.n_quotes,
    )
    llm = llm_config(p, get_settings())
    results, stats = [None] * len(prepared), None
    if llm is not None:
        conversations = [
            profiles_t.build_profile_messages(
                subreddit=one["subreddit"],
                texts=one["representative_texts"],
                terms=one["extractive"]["distinctive_terms"],
                max_text_chars=p.max_text_chars,
            )
            for one in prepared
        ]
        results, stats = ask_json(
            con,
            llm,
            conversations,
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
            progress=True,
        )
    rows = [
        profiles_t.profile_row(
            one,
            answer=r.data if r else None,
            reason=r.error if r else NO_ENDPOINT,
            model=llm.model if llm else None,
            prompt_hash=r.prompt_hash if r else None,
            usernames=usernames,
        )
        for one, r in zip(prepared, results, strict=True)
    ]
    frame = labels.rows_to_frame(rows, "profiles")
    warehouse.replace_tables(con, {"profiles": frame.to_arrow()})
    # llm_cache is a log that only grows: count what this run added, not what it holds
    cached = len({r.prompt_hash for r in results if r and r.data is not None and not r.cached})
    return _result(frame, stats, cached)


def _result(frame: pl.DataFrame, stats: dict | None, cached: int) -> StageResult:
    methods = dict(frame.group_by("profile_method").len().sort("profile_method").iter_rows())
    reasons = sorted(set(frame["fallback_reason"].drop_nulls().to_list()))
    notes = [f"profiles: {frame.height} ({', '.join(f'{k} {v}' for k, v in methods.items())})"]
    if reasons:
        notes.append("extractive because: " + "; ".join(reasons))
    if stats:
        notes.append(
            f"llm {stats['model']}: {stats['cache_hits']} cached, {stats['requests']} requests, "
            f"{stats['failures']} failed, {stats['prompt_tokens']}+{stats['completion_tokens']} "
            "tokens"
        )
        asked = frame.height - stats["cache_hits"]
        work = Work(
            "llm_answers",
            computed=asked,
            reused=stats["cache_hits"],
            note=f"{stats['model']}: {stats['requests']} HTTP requests, {stats['failures']} failed",
        )
    else:
        short = "; ".join(r.split(" (")[0] for r in reasons)
        work = Work("profiles", computed=frame.height, note=f"extractive: {short}" if short else "")
    return StageResult(
        name="profiles",
        version=profiles_t.PROFILES_VERSION,
        work=(work,),
        rows={"profiles": frame.height, "llm_cache": cached},
        notes=tuple(notes),
        details={
            "version": profiles_t.PROFILES_VERSION,
            "communities": frame.height,
            "profile_method": methods,
            "fallback_reasons": reasons,
            "llm": stats,
        },
    )


def carried_work(con) -> tuple[Work, ...]:
    return (Work("profiles", reused=warehouse.row_count(con, "profiles")),)


STAGE = Stage(
    name="profiles",
    version=profiles_t.PROFILES_VERSION,
    params=Params,
    run=run,
    doc="community profiles: LLM-written (cached) or extractive",
    inputs=(
        "communities",
        "memberships",
        "members",
        "texts",
        "embeddings",
        "stg_comments",
        "stg_submissions",
    ),
    outputs=("profiles", "llm_cache"),
    reusable=True,
    carried_work=carried_work,
)
