"""The Reddit crawl run to its end (``run_crawl``) and its summary (``crawl_summary``).

Credentials and the API base URL come from the environment (``communitybench.settings``), never
from arguments, so they never reach Prefect's records.
"""

from __future__ import annotations

import json

from tqdm import tqdm

from communitybench.settings import get_settings
from communitybench.sources.reddit import store
from communitybench.sources.reddit.client import RetryPolicy
from communitybench.sources.reddit.crawl import (
    CrawlSession,
    crawl_members,
    crawl_session,
    crawl_subreddit,
)
from communitybench.sources.reddit.options import CrawlOptions


def _require_subreddits(options: CrawlOptions) -> None:
    if not options.subreddits:
        raise ValueError(
            "no subreddits to crawl: list them in [reddit].subreddits of the config or pass "
            "--subreddit NAME"
        )


def run_crawl(
    con, options: CrawlOptions, policy: RetryPolicy, *, settings=None, progress: bool = True
) -> dict:
    """Start or resume a crawl on the warehouse connection and run it to the end; summarise it."""
    _require_subreddits(options)
    settings = settings or get_settings()
    with crawl_session(con, options, policy, settings=settings, progress=progress) as session:
        subreddits = tqdm(
            options.subreddits, desc="subreddits", unit="subreddit", disable=not progress
        )
        for subreddit in subreddits:
            crawl_subreddit(session, subreddit)
        crawl_members(session)
        return finish_session(session)


def finish_session(session: CrawlSession) -> dict:
    """Flush counters, mark the crawl finished, summarise it."""
    with store.transaction(session.con):
        session.flush_counters()
        store.finish(session.con, session.crawl_id)
    return crawl_summary(session.con, session.crawl_id, resumed=session.resumed)


def crawl_summary(con, crawl_id: str, *, resumed: bool = False) -> dict:
    """Counts per subreddit, member histories, retries and errors of one crawl."""
    run = con.execute(
        "select requests, retries, retry_reasons, attempts, finished_at is not null, settings "
        "from crawl_runs where crawl_id = ?",
        [crawl_id],
    ).fetchall()[0]
    return {
        "version": store.CRAWL_VERSION,
        "crawl_id": crawl_id,
        "resumed": resumed,
        "attempts": run[3],
        "finished": run[4],
        "subreddits": _per_subreddit(con, crawl_id, json.loads(run[5])["subreddits"]),
        "members": _members(con, crawl_id),
        "totals": {
            "submissions": _count(con, "raw_submissions", crawl_id),
            "comments": _count(con, "raw_comments", crawl_id),
        },
        "requests": run[0],
        "retries": run[1],
        "retries_by_reason": json.loads(run[2] or "{}"),
        "errors": dict(
            con.execute(
                "select kind, count(*) from crawl_errors where crawl_id = ? group by 1 order by 1",
                [crawl_id],
            ).fetchall()
        ),
    }


def _per_subreddit(con, crawl_id: str, subreddits: list[str]) -> dict:
    rows = con.execute(
        """select subreddit, count(*) as submissions,
            count(*) filter (status = 'ok') as threads_ok,
            count(*) filter (status = 'partial') as threads_partial,
            count(*) filter (status = 'failed') as threads_failed,
            count(*) filter (status = 'pending') as threads_pending,
            count(*) filter (fully_expanded) as fully_expanded,
            coalesce(sum(comment_count), 0) as comments
        from crawl_threads where crawl_id = ? group by subreddit order by min(seq)""",
        [crawl_id],
    )
    names = [d[0] for d in rows.description][1:]
    found = {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows.fetchall()}
    return {sub: found.get(sub, dict.fromkeys(names, 0)) for sub in subreddits}


def _members(con, crawl_id: str) -> dict:
    fetched = con.execute(
        "select count(*) from crawl_checkpoints where crawl_id = ? and kind = 'member'",
        [crawl_id],
    ).fetchall()[0][0]
    comments = con.execute(
        "select count(*) from raw_comments where ingest_run_id = ? and source_file like 'u/%'",
        [crawl_id],
    ).fetchall()[0][0]
    return {"histories": fetched, "comments": comments}


def _count(con, table: str, crawl_id: str) -> int:
    query = f"select count(*) from {table} where ingest_run_id = ? and source = 'reddit'"
    return con.execute(query, [crawl_id]).fetchall()[0][0]
