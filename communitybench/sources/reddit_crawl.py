"""The Reddit crawl: listings → threads → member histories, resumable at every step.

Order of work (the same on every resume, so a resumed crawl ends with the rows an uninterrupted
one writes): for each configured subreddit, each listing page by page (its submissions and the
threads it lists are committed with the listing cursor), then the subreddit's queued threads in
discovery order (each thread's comments committed with its status); finally the comment
histories of members active in enough threads (each committed with its checkpoint).

A unit that fails permanently (404, 403, a redirect for a missing subreddit, or a transient
failure that outlived every retry) is recorded in ``crawl_errors`` and the crawl goes on. If
``BREAKER`` units in a row fail transiently the API is taken to be down: the crawl stops with
:class:`CrawlAborted`, leaving those units pending, and the next run resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import praw
from prawcore.exceptions import OAuthException
from tqdm import tqdm

import warehouse
from communitybench.sources import reddit_store as store
from communitybench.sources.reddit import (
    fetch_listing_page,
    fetch_member_comments,
    fetch_thread,
    is_transient,
    listing_params,
    utcnow,
)
from communitybench.sources.reddit_client import (
    CredentialsError,
    RequestStats,
    RetryPolicy,
    make_reddit,
    resolve_credentials,
)
from communitybench.sources.reddit_options import CrawlOptions
from communitybench.sources.reddit_units import (
    commit_failure,
    commit_listing_error,
    commit_member,
    commit_page,
    commit_thread,
)

BREAKER = 3


class CrawlAborted(RuntimeError):
    """The crawl stopped early (API unreachable); running it again resumes where it stopped."""


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
    warehouse_path: Path,
    options: CrawlOptions,
    policy: RetryPolicy,
    *,
    settings,
    crawl_id: str | None = None,
    progress: bool = True,
) -> Iterator[CrawlSession]:
    """Open the warehouse and a praw client; start, resume or continue (``crawl_id``) a crawl."""
    credentials = resolve_credentials(settings)
    stats = RequestStats()
    reddit = make_reddit(credentials, policy=policy, stats=stats, base_url=settings.reddit_base_url)
    with warehouse.connect(warehouse_path) as con:
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
            raise ValueError(f"no crawl {crawl_id!r} in {warehouse_path}")
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
        bar=dict(total=total, initial=total - len(pending), desc=f"r/{subreddit} threads"),
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
        bar=dict(total=len(members), initial=len(members) - len(todo), desc="member histories"),
    )


def run_units(
    session: CrawlSession,
    units: list[str],
    *,
    fetch: Callable,
    on_success: Callable,
    on_failure: Callable,
    bar: dict,
) -> None:
    """Fetch and commit units in order; hold transient failures until the API proves up."""
    held: list[tuple[str, BaseException]] = []
    with tqdm(unit="", disable=not session.progress, **bar) as progress:
        for unit in units:
            try:
                result = fetch(unit)
            except Exception as exc:  # noqa: BLE001 (classified below)
                check_fatal(exc)
                if not is_transient(exc):
                    on_failure(unit, exc, False)
                    progress.update(1)
                    continue
                held.append((unit, exc))
                if len(held) >= BREAKER:
                    raise CrawlAborted(
                        f"{BREAKER} requests in a row failed after every retry "
                        f"({type(exc).__name__}); the API looks unreachable — run the crawl "
                        "again to resume where it stopped"
                    ) from None
                continue
            for failed, error in held:  # the API answers: those failures were their own
                on_failure(failed, error, True)
            progress.update(len(held) + 1)
            held.clear()
            on_success(unit, result)
    for failed, error in held:
        on_failure(failed, error, True)
