"""Stage ``crawl``: Reddit through praw → raw observation tables, resumable after any crash.

Listings page by page, then each thread's comment tree (bounded ``replace_more``), then the
comment histories of active members; each unit commits with its checkpoint, so a crashed or
retried crawl resumes where it stopped and writes every observation once
(``communitybench/sources/reddit/``). Credentials come from the environment or praw.ini only.
"""

from __future__ import annotations

from communitybench.config import RedditConfig
from communitybench.settings import get_settings
from communitybench.sources.reddit.client import resolve_credentials
from communitybench.sources.reddit.options import crawl_options, require_subreddits, retry_policy
from communitybench.sources.reddit.session import run_crawl
from communitybench.sources.reddit.store import CRAWL_VERSION
from communitybench.stage import Stage, StageParams, StageResult, Table, Work

COLUMNS = (  # (header, summary key): threads ok / partial / failed / pending / fully expanded
    ("posts", "submissions"),
    ("ok", "threads_ok"),
    ("partial", "threads_partial"),
    ("failed", "threads_failed"),
    ("pending", "threads_pending"),
    ("full", "fully_expanded"),
    ("comments", "comments"),
)


class Params(StageParams):
    reddit: RedditConfig


def check(params: Params, selected: frozenset[str]) -> None:
    """Subreddits to crawl and usable credentials, before anything starts."""
    require_subreddits(crawl_options(params.reddit))
    resolve_credentials(get_settings())


def run(con, params: Params) -> StageResult:
    """Crawl the configured subreddits to the end (resuming an unfinished crawl)."""
    summary = run_crawl(con, crawl_options(params.reddit), retry_policy(params.reddit))
    return crawl_result(summary)


def crawl_result(summary: dict) -> StageResult:
    """The stage result of a crawl summary (``communitybench.sources.reddit.session``).

    Observations stored by earlier attempts of a resumed crawl count as reused; rows written
    are this run's.
    """
    totals, members, before = summary["totals"], summary["members"], summary["stored_before"]
    reasons = ", ".join(f"{k}={v}" for k, v in summary["retries_by_reason"].items()) or "none"
    errors = ", ".join(f"{k}={v}" for k, v in summary["errors"].items()) or "none"
    state = "finished" if summary["finished"] else "unfinished"
    notes = (
        f"crawl {summary['crawl_id']} ({summary['version']}), {state}, "
        f"{summary['attempts']} attempt(s){' — resumed' if summary['resumed'] else ''}",
        f"rows: {totals['submissions']:,} submissions, {totals['comments']:,} comments "
        f"({members['comments']:,} from {members['histories']:,} member histories)",
        f"requests: {summary['requests']:,}; retries: {summary['retries']:,} ({reasons})",
        f"errors (see crawl_errors): {errors}",
    )
    table = Table(
        f"reddit crawl ({summary['version']}): posts and threads per subreddit",
        ("subreddit", *(title for title, _ in COLUMNS)),
        tuple(
            (f"r/{name}", *(row[key] for _, key in COLUMNS))
            for name, row in summary["subreddits"].items()
        ),
    )
    written = {kind: totals[kind] - before[kind] for kind in ("submissions", "comments")}
    note = f"crawl {summary['crawl_id']}: {summary['requests']:,} API requests"
    return StageResult(
        name="crawl",
        version=CRAWL_VERSION,
        work=(
            Work(
                "observations",
                computed=sum(written.values()),
                reused=sum(before.values()),
                note=note,
            ),
        ),
        dropped=dict(summary["errors"]),
        rows={"raw_submissions": written["submissions"], "raw_comments": written["comments"]},
        notes=notes,
        tables=(table,),
        details=summary,
    )


STAGE = Stage(
    name="crawl",
    version=CRAWL_VERSION,
    params=Params,
    run=run,
    doc="crawl Reddit through praw (listings, comment trees, member histories); resumable",
    outputs=(
        "raw_submissions",
        "raw_comments",
        "crawl_runs",
        "crawl_checkpoints",
        "crawl_threads",
        "crawl_errors",
    ),
    when=lambda config: config.source.kind == "reddit",
    retries=2,
    # after an outage outlived every request's retries, wait as long as the longest backoff
    retry_delay=lambda config: config.reddit.backoff_max_s,
    check=check,
)
