"""Reddit fetching through praw, and conversion of praw objects to raw observation rows.

Requests are shaped exactly as praw's own generators shape them (``r/<sub>/<listing>`` with
``limit`` and, for ``top``, ``t``; ``after`` on later pages; ``comments/<id>/`` with praw's
comment limit and sort; ``user/<name>/comments`` with ``sort=new``), so a crawl resumed from a
listing cursor asks for the same pages an uninterrupted one does.

Rows follow ``schemas/raw_submissions.toml`` / ``raw_comments.toml``: ids without ``t1_`` /
``t3_``, ``parent_id`` with its prefix, ``link_id`` without, naive UTC timestamps, ``author``
``'[deleted]'`` when praw says ``None``, and a status (ok / deleted / removed) per observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import praw
from praw.models import Comment, MoreComments, Submission
from prawcore.exceptions import BadJSON, RequestException, ServerError, TooManyRequests

SOURCE = "reddit"
DELETED_AUTHOR = "[deleted]"
# removed_by_category values that mean the author deleted the post (others are removals)
AUTHOR_DELETIONS = {"deleted", "author"}
TRANSIENT_ERRORS = (RequestException, ServerError, TooManyRequests, BadJSON)


def utcnow() -> datetime:
    """Current UTC time as a naive timestamp (the warehouse convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_transient(exc: BaseException) -> bool:
    """Whether an error may go away on a later attempt (network, 429, 5xx, bad JSON)."""
    return isinstance(exc, TRANSIENT_ERRORS)


def listing_params(listing: str, *, limit: int, time_filter: str, after: str | None) -> dict:
    """Query parameters praw's ListingGenerator sends for this listing page."""
    params: dict = {"t": time_filter} if listing in ("top", "controversial") else {}
    params["limit"] = limit
    if after:
        params["after"] = after
    return params


def fetch_listing_page(
    reddit: praw.Reddit, subreddit: str, listing: str, params: dict
) -> tuple[list[Submission], str | None]:
    """One page of ``r/<subreddit>/<listing>``: its submissions and the ``after`` cursor."""
    page = reddit.get(f"r/{subreddit}/{listing}", params=params)
    return [s for s in page.children if isinstance(s, Submission)], page.after


@dataclass
class ThreadFetch:
    """One thread's comment tree after ``replace_more``."""

    submission_id: str
    comments: list[Comment]
    fetched_at: datetime
    more_remaining: int
    error: BaseException | None = None  # a permanent replace_more failure (tree kept as is)

    @property
    def fully_expanded(self) -> bool:
        """No 'load more comments' / 'continue this thread' stub was left unexpanded."""
        return self.error is None and self.more_remaining == 0


def fetch_thread(
    reddit: praw.Reddit, submission_id: str, *, replace_more_limit: int | None, threshold: int
) -> ThreadFetch:
    """Fetch a thread and expand its tree within the budget (``None`` = no limit).

    A failure of the first fetch propagates; a failure while expanding (e.g. a 404, or retries
    spent, on one morechildren call) keeps the tree fetched so far, with the error.
    """
    forest = reddit.submission(id=submission_id).comments
    fetched_at = utcnow()
    error = None
    try:
        skipped = forest.replace_more(limit=replace_more_limit, threshold=threshold)
    except Exception as exc:  # noqa: BLE001 (kept with the partial tree)
        error, skipped = exc, None
    items = forest.list()
    comments = _unique([c for c in items if isinstance(c, Comment)])
    if skipped is None:
        remaining = sum(isinstance(c, MoreComments) for c in items)
    else:
        remaining = len(skipped)
    return ThreadFetch(submission_id, comments, fetched_at, remaining, error)


def _unique(comments: list[Comment]) -> list[Comment]:
    seen: set[str] = set()
    out = []
    for comment in comments:
        if comment.id not in seen:
            seen.add(comment.id)
            out.append(comment)
    return out


def fetch_member_comments(reddit: praw.Reddit, name: str, *, limit: int) -> list[Comment]:
    """A member's most recent comments (``user/<name>/comments?sort=new``)."""
    return list(reddit.redditor(name).comments.new(limit=limit))


def _field(obj, name: str):
    # vars(), not getattr: a missing attribute on a praw object triggers a network fetch
    return vars(obj).get(name)


def _label(value, attribute: str) -> str:
    return str(getattr(value, "__dict__", {}).get(attribute, value))


def _subreddit(obj) -> str | None:
    value = _field(obj, "subreddit")
    return None if value is None else _label(value, "display_name")


def _author(obj) -> str:
    value = _field(obj, "author")  # praw turns "[deleted]" into None
    return DELETED_AUTHOR if value is None else _label(value, "name")


def _timestamp(seconds) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC).replace(tzinfo=None)


def _int(value) -> int | None:
    return None if value is None else int(value)


def comment_status(body: str | None) -> str:
    """ok / deleted / removed, by the same body markers dump ingestion uses."""
    if body == "[deleted]":
        return "deleted"
    if body is not None and (body == "[removed]" or body.startswith("[removed by ")):
        return "removed"
    return "ok"


def submission_status(selftext: str | None, removed_by_category: str | None) -> str:
    """ok / deleted / removed from the selftext markers and ``removed_by_category``."""
    if removed_by_category in AUTHOR_DELETIONS:
        return "deleted"
    if removed_by_category:
        return "removed"
    return comment_status(selftext)


def _observation(obs_id: str, retrieved_at: datetime, source_file: str, run_id: str) -> dict:
    return {
        "obs_id": obs_id,
        "retrieved_at": retrieved_at,
        "source": SOURCE,
        "source_file": source_file,
        "source_line": None,
        "ingest_run_id": run_id,
    }


def submission_row(sub: Submission, *, crawl_id: str, retrieved_at, source_file: str) -> dict:
    """A ``raw_submissions`` row for one observed submission."""
    selftext = _field(sub, "selftext")
    return {
        "id": sub.id,
        "subreddit": _subreddit(sub),
        "author": _author(sub),
        "title": _field(sub, "title"),
        "selftext": selftext,
        "score": _int(_field(sub, "score")),
        "ups": _int(_field(sub, "ups")),
        "downs": _int(_field(sub, "downs")),
        "num_comments": _int(_field(sub, "num_comments")),
        "upvote_ratio": _field(sub, "upvote_ratio"),
        "created_utc": _timestamp(_field(sub, "created_utc")),
        "distinguished": _field(sub, "distinguished"),
        "stickied": _field(sub, "stickied"),
        "url": _field(sub, "url"),
        "status": submission_status(selftext, _field(sub, "removed_by_category")),
        **_observation(f"{SOURCE}:{crawl_id}:{sub.id}", retrieved_at, source_file, crawl_id),
    }


def comment_row(comment: Comment, *, crawl_id: str, retrieved_at, source_file: str) -> dict:
    """A ``raw_comments`` row for one observed comment."""
    body = _field(comment, "body")
    link_id = _field(comment, "link_id")
    return {
        "id": comment.id,
        "link_id": link_id.removeprefix("t3_") if link_id else None,
        "parent_id": _field(comment, "parent_id"),
        "subreddit": _subreddit(comment),
        "author": _author(comment),
        "body": body,
        "score": _int(_field(comment, "score")),
        "ups": _int(_field(comment, "ups")),
        "downs": _int(_field(comment, "downs")),
        "created_utc": _timestamp(_field(comment, "created_utc")),
        "distinguished": _field(comment, "distinguished"),
        "stickied": _field(comment, "stickied"),
        "status": comment_status(body),
        **_observation(f"{SOURCE}:{crawl_id}:{comment.id}", retrieved_at, source_file, crawl_id),
    }
