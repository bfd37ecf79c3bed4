"""``crawl_reddit``: Reddit (praw) → raw observations → staging, resumable after any crash.

Network tasks retry in their decorators; a retried (or re-run) task continues from the crawl's
checkpoints, so a retry never duplicates or skips rows.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from communitybench import stages
from communitybench.config import BuildConfig
from communitybench.sources.reddit import session as reddit_stages
from communitybench.sources.reddit.client import RetryPolicy
from communitybench.sources.reddit.options import CrawlOptions, crawl_options, retry_policy
from communitybench.sources.reddit.report import crawl_markdown
from flows.ingest import build_staging


@task(name="start_crawl", cache_policy=NO_CACHE)
def start_crawl(warehouse_path: Path, options: CrawlOptions, policy: RetryPolicy) -> dict:
    """Check credentials; start the crawl or pick up the unfinished one with these settings."""
    return reddit_stages.start_crawl(warehouse_path, options, policy)


@task(name="crawl_subreddit", retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def crawl_subreddit(
    warehouse_path: Path, crawl_id: str, subreddit: str, options: CrawlOptions, policy
) -> dict:
    """Listings and comment trees of one subreddit."""
    return reddit_stages.crawl_one_subreddit(warehouse_path, crawl_id, subreddit, options, policy)


@task(name="fetch_member_histories", retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def fetch_member_histories(
    warehouse_path: Path, crawl_id: str, options: CrawlOptions, policy
) -> dict:
    """Recent comments of members active in enough crawled threads."""
    return reddit_stages.crawl_member_histories(warehouse_path, crawl_id, options, policy)


@task(name="finish_crawl", cache_policy=NO_CACHE)
def finish_crawl(warehouse_path: Path, crawl_id: str, options: CrawlOptions, policy) -> dict:
    """Mark the crawl finished; return its summary."""
    return reddit_stages.finish_crawl(warehouse_path, crawl_id, options, policy)


@flow(name="crawl_reddit", log_prints=True)
def crawl_reddit(
    config: BuildConfig,
    warehouse_path: Path,
    subreddits: list[str] | None = None,
    limit: int | None = None,
    staging: bool = True,
) -> dict:
    """Crawl the configured subreddits (``subreddits`` / ``limit`` override the config)."""
    options = crawl_options(config.reddit, subreddits=subreddits, limit=limit)
    policy = retry_policy(config.reddit)
    crawl_id = start_crawl(warehouse_path, options, policy)["crawl_id"]
    for subreddit in options.subreddits:
        crawl_subreddit(warehouse_path, crawl_id, subreddit, options, policy)
    fetch_member_histories(warehouse_path, crawl_id, options, policy)
    summary = finish_crawl(warehouse_path, crawl_id, options, policy)
    if staging:
        summary["staging"] = build_staging(
            warehouse_path, **stages.staging_kwargs(config.clean, config=config)
        )
    markdown = crawl_markdown(summary)
    print(markdown)
    create_markdown_artifact(
        key="crawl-summary", markdown=markdown, description="reddit crawl summary"
    )
    return summary
