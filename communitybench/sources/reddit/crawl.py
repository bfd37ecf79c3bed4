"""The Reddit crawl: listings → threads → member histories, resumable at every step.

Order of work (the same on every resume, so a resumed crawl ends with the rows an uninterrupted
one writes): for each configured subreddit, each listing page by page (its submissions and the
threads it lists are committed with the listing cursor), then the subreddit's queued threads in
discovery order (each thread's comments committed with its status); finally the comment
histories of members active in enough threads (each committed with its checkpoint).

A thread or member history that fails permanently (404, 403, ..., or a transient failure that
outlived every retry while the API otherwise answers) is recorded in ``crawl_errors`` and the
crawl goes on. When a retried-out failure comes with the API not answering a known-good request
either (an outage), or a listing page fails that way, the crawl stops with
:class:`CrawlAborted`, the unit stays pending, and the next run resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import praw
from prawcore.exceptions import OAuthException
from tqdm import tqdm

import warehouse
from communitybench.errors import CrawlAborted
from communitybench.sources.reddit import store
from communitybench.sources.reddit.client import (
    CredentialsError,
    RequestStats,
    RetryPolicy,
    make_reddit,
    resolve_credentials,
)
from communitybench.sources.reddit.fetch import (
    fetch_listing_page,
    fetch_member_comments,
    fetch_thread,
    is_transient,
    listing_params,
    utcnow,
)
from communitybench.sources.reddit.options import CrawlOptions
from communitybench.sources.reddit.units import (
    commit_failure,
    commit_listing_error,
    commit_member,
    commit_page,
    commit_thread,
)


@dataclass
class CrawlSession:
    """What every step of one crawl process shares."""

    con: duckdb.DuckDBPyConnection
    reddit: praw.Reddit
    crawl_id: str
    resumed: bool
    options: CrawlOptions
    stats: RequestStats
    secrets: tuple[str, ...]
    progress: bool = True
    seen_submissions: set[str] = field(default_factory=set)
    seen_comments: set[str] = field(default_factory=set)
    flushed: RequestStats = field(default_factory=RequestStats)

    def flush_counters(self) -> None:
        """Add requests/retries made since the last commit (call inside a transaction)."""
        reasons = self.stats.retries - self.flushed.retries
        store.add_counters(
            self.con, self.crawl_id, self.stats.requests - self.flushed.requests, dict(reasons)
        )
        self.flushed = RequestStats(self.stats.requests, self.stats.retries.copy())


@contextmanager
def crawl_session(
    con: duckdb.DuckDBPyConnection,
    options: CrawlOptions,
    policy: RetryPolicy,
    *,
    settings,
    crawl_id: str | None = None,
    progress: bool = True,
) -> Iterator[CrawlSession]:
    """A praw client on the warehouse; start, resume or continue (``crawl_id``) a crawl."""
    credentials = resolve_credentials(settings)
    stats = RequestStats()
    reddit = make_reddit(credentials, policy=policy, stats=stats, base_url=settings.reddit_base_url)
    warehouse.ensure_tables(con, layer="raw")
    resumed = True
    if crawl_id is None:
        with store.transaction(con):
            crawl_id, resumed = store.open_crawl(
                con,
                key=options.key(),
                settings=options.settings(),
                api_url=settings.reddit_base_url,
            )
    elif store.crawl_state(con, crawl_id) is None:
        raise ValueError(f"no crawl {crawl_id!r} in this warehouse")
    session = CrawlSession(
        con, reddit, crawl_id, resumed, options, stats, credentials.secrets(), progress
    )
    session.seen_submissions = store.seen_ids(con, crawl_id, "raw_submissions")
    session.seen_comments = store.seen_ids(con, crawl_id, "raw_comments")
    yield session


def check_fatal(exc: BaseException) -> None:
    """Turn errors no later unit can escape (rejected credentials) into CredentialsError."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, OAuthException) or status == 401:
        raise CredentialsError(
            "Reddit rejected the credentials (HTTP 401): check COMMUNITYBENCH_REDDIT_CLIENT_ID "
            "and COMMUNITYBENCH_REDDIT_CLIENT_SECRET (or praw_client_id / praw_client_secret / "
            "praw.ini)"
        ) from None


def crawl_subreddit(session: CrawlSession, subreddit: str) -> None:
    """Every configured listing of one subreddit, then its queued threads."""
    for listing in session.options.listings:
        crawl_listing(session, subreddit, listing)
    crawl_threads(session, subreddit)


def crawl_listing(session: CrawlSession, subreddit: str, listing: str) -> None:
    """Page through one listing from its checkpoint up to the configured limit."""
    opts = session.options
    source_file = f"r/{subreddit}/{listing}"
    state = store.load_checkpoint(session.con, session.crawl_id, source_file) or {
        "crawl_id": session.crawl_id,
        "source_file": source_file,
        "kind": "listing",
        "subreddit": subreddit,
        "listing": listing,
        "after_cursor": None,
        "items_seen": 0,
        "pages": 0,
        "done": False,
    }
    while not state["done"]:
        params = listing_params(
            listing, limit=opts.limit, time_filter=opts.time_filter, after=state["after_cursor"]
        )
        try:
            submissions, after = fetch_listing_page(session.reddit, subreddit, listing, params)
        except Exception as exc:  # noqa: BLE001 (classified by the helpers)
            check_fatal(exc)
            if is_transient(exc):
                raise CrawlAborted(
                    f"{source_file} failed after every retry ({type(exc).__name__}); the API "
                    "looks unreachable — run the crawl again to resume where it stopped"
                ) from None
            commit_listing_error(session, state, exc)
            return
        commit_page(session, state, submissions, after)


def crawl_threads(session: CrawlSession, subreddit: str) -> None:
    """Fetch the subreddit's pending threads in discovery order."""
    opts = session.options
    pending, total = store.thread_queue(session.con, session.crawl_id, subreddit)

    def fetch(sid: str):
        return fetch_thread(
            session.reddit,
            sid,
            replace_more_limit=opts.replace_more_limit,
            threshold=opts.replace_more_threshold,
        )

    run_units(
        session,
        pending,
        fetch=fetch,
        on_success=lambda sid, result: commit_thread(session, subreddit, result),
        on_failure=lambda sid, exc, transient: commit_failure(
            session, "thread", sid, exc, transient
        ),
        probe_subreddit=subreddit,
        bar=dict(total=total, initial=total - len(pending), desc=f"r/{subreddit}", unit="thread"),
    )


def crawl_members(session: CrawlSession) -> None:
    """Comment histories of members active in at least ``member_min_threads`` threads."""
    opts = session.options
    if opts.member_min_threads <= 0:
        return
    members = store.active_members(session.con, session.crawl_id, opts.member_min_threads)
    done = store.done_members(session.con, session.crawl_id)
    todo = [m for m in members if f"u/{m}/comments" not in done]
    run_units(
        session,
        todo,
        fetch=lambda name: (
            fetch_member_comments(session.reddit, name, limit=opts.member_limit),
            utcnow(),
        ),
        on_success=lambda name, result: commit_member(session, name, *result),
        on_failure=lambda name, exc, transient: commit_failure(
            session, "member", name, exc, transient
        ),
        probe_subreddit=opts.subreddits[0],
        bar=dict(
            total=len(members), initial=len(members) - len(todo), desc="members", unit="member"
        ),
    )


def run_units(
    session: CrawlSession,
    units: list[str],
    *,
    fetch: Callable,
    on_success: Callable,
    on_failure: Callable,
    probe_subreddit: str,
    bar: dict,
) -> None:
    """Fetch and commit units in order; a unit that fails is recorded and the crawl goes on.

    A unit (or a thread's expansion) that still fails transiently after every retry is recorded
    only once a probe shows the API answers; otherwise the crawl stops with CrawlAborted and
    the unit stays pending.
    """
    with tqdm(disable=not session.progress, leave=False, **bar) as progress:
        for unit in units:
            try:
                result = fetch(unit)
            except Exception as exc:  # noqa: BLE001 (classified below)
                check_fatal(exc)
                transient = is_transient(exc)
                if transient:
                    ensure_api_answers(session, probe_subreddit, exc)
                on_failure(unit, exc, transient)
            else:
                error = getattr(result, "error", None)  # a partial thread: outage or not?
                if error is not None and is_transient(error):
                    ensure_api_answers(session, probe_subreddit, error)
                on_success(unit, result)
            progress.update(1)


def ensure_api_answers(session: CrawlSession, subreddit: str, cause: BaseException) -> None:
    """Re-read the first page of a listing fetched before; raise CrawlAborted if that fails too."""
    opts = session.options
    if not opts.listings:
        return
    params = listing_params(
        opts.listings[0], limit=opts.limit, time_filter=opts.time_filter, after=None
    )
    try:
        fetch_listing_page(session.reddit, subreddit, opts.listings[0], params)
    except Exception as exc:  # noqa: BLE001 (classified below)
        check_fatal(exc)
        if is_transient(exc):
            raise CrawlAborted(
                f"requests keep failing after every retry ({type(cause).__name__}, then "
                f"{type(exc).__name__} for r/{subreddit}): the API looks unreachable — run the "
                "crawl again to resume where it stopped"
            ) from None
