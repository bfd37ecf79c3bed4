"""The Reddit crawl run to its end (``run_crawl``) and its summary (``crawl_summary``).

Credentials and the API base URL come from the environment (``communitybench.settings``), never
from arguments, so they never reach Prefect's records. The summary's numbers come from the SQL
models ``warehouse/intermediate/int_crawl_{summary,subreddits,errors}.sql``.
"""

from __future__ import annotations

import json

from tqdm import tqdm

import warehouse
from communitybench.settings import get_settings
from communitybench.sources.reddit import store
from communitybench.sources.reddit.client import RetryPolicy
from communitybench.sources.reddit.crawl import (
    CrawlSession,
    crawl_members,
    crawl_session,
    crawl_subreddit,
)
from communitybench.sources.reddit.options import CrawlOptions, require_subreddits


def run_crawl(
    con, options: CrawlOptions, policy: RetryPolicy, *, settings=None, progress: bool = True
) -> dict:
    """Start or resume a crawl on the warehouse connection and run it to the end; summarise it."""
    require_subreddits(options)
    settings = settings or get_settings()
    with crawl_session(con, options, policy, settings=settings, progress=progress) as session:
        before = {
            "submissions": len(session.seen_submissions),
            "comments": len(session.seen_comments),
        }
        subreddits = tqdm(
            options.subreddits, desc="subreddits", unit="subreddit", disable=not progress
        )
        for subreddit in subreddits:
            crawl_subreddit(session, subreddit)
        crawl_members(session)
        return {**finish_session(session), "stored_before": before}


def finish_session(session: CrawlSession) -> dict:
    """Flush counters, mark the crawl finished, summarise it."""
    with store.transaction(session.con):
        session.flush_counters()
        store.finish(session.con, session.crawl_id)
    return crawl_summary(session.con, session.crawl_id, resumed=session.resumed)


def crawl_summary(con, crawl_id: str, *, resumed: bool = False) -> dict:
    """Counts per subreddit, member histories, retries and errors of one crawl."""
    params = {"crawl_id": crawl_id}
    [run] = _records(warehouse.query(con, "int_crawl_summary", params))
    subreddits = _records(warehouse.query(con, "int_crawl_subreddits", params))
    return {
        "version": run["version"],
        "crawl_id": crawl_id,
        "resumed": resumed,
        "attempts": run["attempts"],
        "finished": run["finished"],
        "subreddits": {row.pop("subreddit"): row for row in subreddits},
        "members": {"histories": run["member_histories"], "comments": run["member_comments"]},
        "totals": {"submissions": run["submissions"], "comments": run["comments"]},
        "requests": run["requests"],
        "retries": run["retries"],
        "retries_by_reason": json.loads(run["retry_reasons"]),
        "errors": dict(warehouse.query(con, "int_crawl_errors", params).fetchall()),
    }


def _records(relation) -> list[dict]:
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
