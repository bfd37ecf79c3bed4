"""``build_tasks``: communities → thread ownership, options, distributions → profiles → tasks.

The flow body only calls tasks in order; the stage functions live in ``communitybench.tasks``.
The LLM endpoint (for profiles) comes from the environment (``COMMUNITYBENCH_LLM_*``); without
one, profiles are extractive and the summary says why.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from communitybench import tasks as stage
from communitybench.config import BuildConfig
from communitybench.inference.llm import LLMConfig
from communitybench.settings import Settings, get_settings

NO_ENDPOINT = (
    "no LLM endpoint configured (set COMMUNITYBENCH_LLM_BASE_URL and COMMUNITYBENCH_LLM_MODEL "
    "for LLM-written profiles)"
)


@task(name="build_labels")
def build_labels(warehouse_path: Path, **kwargs) -> dict:
    """Rebuild thread_ownership, option_sets and distributions."""
    return stage.run_labels(warehouse_path, **kwargs)


@task(name="build_profiles")
def build_profiles(warehouse_path: Path, **kwargs) -> dict:
    """Rebuild profiles (LLM with cache, or extractive)."""
    return stage.run_profiles(warehouse_path, **kwargs)


@task(name="build_task_tables")
def build_task_tables(warehouse_path: Path, **kwargs) -> dict:
    """Rebuild task_pi, task_dp, task_ccg and task_ci."""
    return stage.run_task_tables(warehouse_path, **kwargs)


@flow(name="build_tasks", log_prints=True)
def build_tasks(config: BuildConfig, warehouse_path: Path) -> dict:
    """Labels → profiles → task tables; returns counts per task and per community."""
    labels = build_labels(warehouse_path, **labels_kwargs(config))
    settings = get_settings()
    profiles = build_profiles(warehouse_path, progress=True, **profiles_kwargs(config, settings))
    tasks = build_task_tables(warehouse_path, **tasks_kwargs(config))
    return {"labels": labels, "profiles": profiles, "tasks": tasks}


def labels_kwargs(config: BuildConfig) -> dict:
    """Unpack [communities], [embed] and [tasks] into run_labels keyword arguments."""
    t = config.tasks
    return {
        "scope": config.communities.scope,
        "embed_model": config.embed.model,
        "embed_revision": config.embed.revision,
        "own_share": t.own_share,
        "own_min": t.own_min,
        "option_kwargs": {
            "k": t.k,
            "k_min": min(t.k_min, t.k),
            "window_s": t.option_window_hours * 3600.0,
            "max_pool": t.max_pool,
            "weights": (t.w_semantic, t.w_affect, t.w_popularity),
        },
        "estimator_kwargs": {
            "a0": t.a0,
            "b0": t.b0,
            "max_share": t.dp_max_share,
            "min_votes": t.min_votes,
        },
        "updown_sources": list(t.updown_sources),
    }


def profiles_kwargs(config: BuildConfig, settings: Settings) -> dict:
    """Unpack [profiles] and the endpoint from settings into run_profiles keyword arguments."""
    p = config.profiles
    kwargs = {
        "scope": config.communities.scope,
        "embed_model": config.embed.model,
        "embed_revision": config.embed.revision,
        "max_text_chars": p.max_text_chars,
        "n_terms": p.n_terms,
        "max_tone_texts": p.max_tone_texts,
        "n_central": p.n_central,
        "n_diverse": p.n_diverse,
        "n_quotes": p.n_quotes,
        "llm": None,
        "no_llm_reason": NO_ENDPOINT,
    }
    if not (settings.llm_base_url and settings.llm_model):
        return kwargs
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    kwargs["no_llm_reason"] = None
    kwargs["llm"] = LLMConfig(
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
    return kwargs


def tasks_kwargs(config: BuildConfig) -> dict:
    """Unpack [tasks] into run_task_tables keyword arguments."""
    t = config.tasks
    return {
        "pi_margin": t.pi_margin,
        "ccg_references": t.ccg_references,
        "ci_candidates": t.ci_candidates,
        "ci_hard": t.ci_hard,
        "seed": t.seed,
    }
