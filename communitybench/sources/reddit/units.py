"""Commits of the crawl's units of work, each in one transaction with its checkpoint.

``session`` is a :class:`communitybench.sources.reddit.crawl.CrawlSession`. Ids join the
session's seen sets only after their transaction commits, so a failed commit never hides an
observation from a retry.
"""

from __future__ import annotations

import logging

from communitybench.sources.reddit import store
from communitybench.sources.reddit.client import redact
from communitybench.sources.reddit.fetch import (
    ThreadFetch,
    comment_row,
    is_transient,
    submission_row,
    utcnow,
)

log = logging.getLogger(__name__)


def commit_page(session, state: dict, submissions: list, after: str | None) -> None:
    """Store a listing page's submissions, queue its threads and move the listing cursor."""
    opts = session.options
    taken = submissions[: opts.limit - state["items_seen"]]
    retrieved = utcnow()
    fresh = {s.id: s for s in taken if s.id not in session.seen_submissions}
    rows = [
        submission_row(
            s, crawl_id=session.crawl_id, retrieved_at=retrieved, source_file=state["source_file"]
        )
        for s in fresh.values()
    ]
    previous = state["after_cursor"]
    state["items_seen"] += len(taken)
    state["pages"] += 1
    state["after_cursor"] = after or previous
    state["done"] = (
        not after or after == previous or not submissions or state["items_seen"] >= opts.limit
    )
    with store.transaction(session.con):
        store.insert_rows(session.con, "raw_submissions", rows)
        ids = [s.id for s in taken]
        store.queue_threads(
            session.con, session.crawl_id, state["subreddit"], state["source_file"], ids
        )
        store.save_checkpoint(session.con, state)
        session.flush_counters()
    session.seen_submissions.update(fresh)


def commit_listing_error(session, state: dict, exc: BaseException) -> None:
    """Close a listing that failed permanently and record why."""
    state["done"] = True
    with store.transaction(session.con):
        _record(session, state["source_file"], "listing", exc, transient=False)
        store.save_checkpoint(session.con, state)
        session.flush_counters()


def commit_thread(session, subreddit: str, fetch: ThreadFetch) -> None:
    """Store a thread's comments with its status (ok, or partial after an expansion error)."""
    sid = fetch.submission_id
    fresh = [c for c in fetch.comments if c.id not in session.seen_comments]
    rows = [
        comment_row(
            c, crawl_id=session.crawl_id, retrieved_at=fetch.fetched_at, source_file=f"thread:{sid}"
        )
        for c in fresh
    ]
    top_level = sum(str(vars(c).get("parent_id", "")).startswith("t3_") for c in fetch.comments)
    with store.transaction(session.con):
        store.insert_rows(session.con, "raw_comments", rows)
        store.save_thread(
            session.con,
            session.crawl_id,
            sid,
            status="partial" if fetch.error else "ok",
            fully_expanded=fetch.fully_expanded,
            comment_count=len(fetch.comments),
            top_level_count=top_level,
            more_remaining=fetch.more_remaining,
            fetched_at=fetch.fetched_at,
        )
        if fetch.error is not None:
            transient = is_transient(fetch.error)
            _record(session, f"thread:{sid}", "expansion", fetch.error, transient=transient)
        session.flush_counters()
    session.seen_comments.update(c.id for c in fresh)


def commit_member(session, name: str, comments: list, retrieved) -> None:
    """Store a member's recent comments (those not already observed) with its checkpoint."""
    source_file = f"u/{name}/comments"
    fresh = {c.id: c for c in comments if c.id not in session.seen_comments}
    rows = [
        comment_row(c, crawl_id=session.crawl_id, retrieved_at=retrieved, source_file=source_file)
        for c in fresh.values()
    ]
    with store.transaction(session.con):
        store.insert_rows(session.con, "raw_comments", rows)
        store.save_checkpoint(session.con, _member_state(session, name, len(comments)))
        session.flush_counters()
    session.seen_comments.update(fresh)


def commit_failure(session, kind: str, unit: str, exc: BaseException, transient: bool) -> None:
    """Record a thread's or member history's permanent failure and close the unit."""
    target = f"thread:{unit}" if kind == "thread" else f"u/{unit}/comments"
    with store.transaction(session.con):
        _record(session, target, kind, exc, transient=transient)
        if kind == "thread":
            store.save_thread(session.con, session.crawl_id, unit, status="failed")
        else:
            store.save_checkpoint(session.con, _member_state(session, unit, 0))
        session.flush_counters()


def _member_state(session, name: str, items: int) -> dict:
    return {
        "crawl_id": session.crawl_id,
        "source_file": f"u/{name}/comments",
        "kind": "member",
        "subreddit": None,
        "listing": "comments",
        "after_cursor": None,
        "items_seen": items,
        "pages": 1,
        "done": True,
    }


def _record(session, target: str, kind: str, exc: BaseException, *, transient: bool) -> None:
    store.record_error(session.con, session.crawl_id, target, kind, exc, session.secrets, transient)
    log.warning("%s failed (%s): %s", target, kind, redact(str(exc), session.secrets))
