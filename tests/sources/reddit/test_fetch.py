"""Fetching threads and listings against replayed real traffic, and the rows made from them.

Expected counts come from the cassette JSON by a separate walk (``tests/fixtures/reddit.py``).
"""

from __future__ import annotations

from datetime import datetime

import praw
import pytest
from praw.models import Comment, Submission
from prawcore.exceptions import NotFound

from communitybench.sources.reddit.fetch import (
    comment_row,
    comment_status,
    fetch_listing_page,
    fetch_thread,
    is_transient,
    listing_params,
    submission_row,
    submission_status,
)
from tests.fakes.reddit_server import ReplayServer, recorded_comments
from tests.fixtures.reddit import (
    FUNNY,
    LARGE,
    POLL,
    USER_AGENT,
    cassettes,
    client,
    first_response,
    recorded_more_calls,
    served,
    things,
)


def test_large_thread_expands_to_the_recorded_1428_comments(recordings):
    expected = recorded_comments(cassettes(), LARGE)
    top_level = {i for i, c in expected.items() if c["parent_id"] == "t3_n49rw"}
    assert (len(expected), len(top_level)) == (1428, 535)
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "n49rw", replace_more_limit=None, threshold=0)
    assert {c.id for c in fetch.comments} == set(expected)
    assert sum(c.parent_id == "t3_n49rw" for c in fetch.comments) == len(top_level)
    assert fetch.fully_expanded and fetch.more_remaining == 0 and fetch.error is None
    assert served(server, "/api/morechildren") == recorded_more_calls(LARGE) == 232
    assert server.max_more_in_flight == 1
    assert all(status == 200 for _, _, status in server.served)


def test_replace_more_budget_zero_keeps_the_first_page_only(recordings):
    first = first_response(FUNNY, "3hahrw")
    initial = {c["id"] for c in things(first, "t1")}
    stubs = things(first, "more")
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "3hahrw", replace_more_limit=0, threshold=0)
    assert {c.id for c in fetch.comments} == initial
    assert fetch.more_remaining == len(stubs) > 0
    assert not fetch.fully_expanded
    assert [p for _, p, _ in server.served if "access_token" not in p] == ["/comments/3hahrw/"]


def test_replace_more_budget_bounds_the_requests(recordings):
    full = set(recorded_comments(cassettes(), FUNNY))
    assert len(full) == 541
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "3hahrw", replace_more_limit=3, threshold=0)
    ids = {c.id for c in fetch.comments}
    assert ids < full and not fetch.fully_expanded and fetch.more_remaining > 0
    expansions = served(server, "/api/morechildren") + served(server, "/comments/3hahrw/_/")
    assert expansions == 3


def test_permanent_expansion_failure_keeps_the_fetched_tree(recordings):
    expected = recorded_comments(cassettes(), POLL)  # only the first page was recorded
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "fo7p5b", replace_more_limit=None, threshold=0)
    assert isinstance(fetch.error, NotFound)
    assert {c.id for c in fetch.comments} == set(expected) and len(expected) == 492
    assert not fetch.fully_expanded


def test_missing_thread_raises_a_permanent_error(recordings):
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        with pytest.raises(NotFound) as info:
            fetch_thread(reddit, "zzzzzz", replace_more_limit=None, threshold=0)
    assert not is_transient(info.value)


def test_listing_pages_follow_after_cursors(recordings):
    world = {"announcements": ["n49rw", "fo7p5b"]}
    with ReplayServer(recordings, world=world, page_size=1) as server:
        reddit, _ = client(server)
        params = listing_params("new", limit=100, time_filter="month", after=None)
        first, after = fetch_listing_page(reddit, "announcements", "new", params)
        params = listing_params("new", limit=100, time_filter="month", after=after)
        second, last = fetch_listing_page(reddit, "announcements", "new", params)
    assert [s.id for s in first] == ["fo7p5b"] and after == "t3_fo7p5b"  # newest first
    assert [s.id for s in second] == ["n49rw"] and last is None
    assert listing_params("top", limit=5, time_filter="all", after="t3_x") == {
        "t": "all",
        "limit": 5,
        "after": "t3_x",
    }


def _offline_reddit() -> praw.Reddit:
    return praw.Reddit(
        client_id="x",
        client_secret="y",
        user_agent=USER_AGENT,
        check_for_updates=False,
        check_for_async=False,
    )


def test_comment_row_conventions():
    data = {
        "id": "c1",
        "link_id": "t3_s1",
        "parent_id": "t1_c0",
        "subreddit": "Cooking",
        "author": "[deleted]",
        "body": "[removed]",
        "score": 3,
        "ups": 3,
        "downs": 0,
        "created_utc": 1767225600.0,
        "distinguished": None,
        "stickied": False,
    }
    row = comment_row(
        Comment(_offline_reddit(), _data=data),
        crawl_id="crawl-x",
        retrieved_at=datetime(2026, 1, 2),
        source_file="thread:s1",
    )
    assert row == {
        "obs_id": "reddit:crawl-x:c1",
        "id": "c1",
        "link_id": "s1",
        "parent_id": "t1_c0",
        "subreddit": "Cooking",
        "author": "[deleted]",
        "body": "[removed]",
        "score": 3,
        "ups": 3,
        "downs": 0,
        "created_utc": datetime(2026, 1, 1),
        "distinguished": None,
        "stickied": False,
        "status": "removed",
        "retrieved_at": datetime(2026, 1, 2),
        "source": "reddit",
        "source_file": "thread:s1",
        "source_line": None,
        "ingest_run_id": "crawl-x",
    }


def test_submission_row_conventions():
    data = {
        "id": "s1",
        "subreddit": "Cooking",
        "author": "alice",
        "title": "Knives?",
        "selftext": "",
        "score": 10,
        "ups": 10,
        "downs": 0,
        "num_comments": 4,
        "upvote_ratio": 0.9,
        "created_utc": 1767225600,
        "distinguished": "moderator",
        "stickied": True,
        "url": "https://www.reddit.com/r/Cooking/comments/s1/",
        "removed_by_category": "moderator",
    }
    row = submission_row(
        Submission(_offline_reddit(), _data=data),
        crawl_id="crawl-x",
        retrieved_at=datetime(2026, 1, 2),
        source_file="r/cooking/new",
    )
    assert {k: row[k] for k in ("obs_id", "author", "created_utc", "status", "source_file")} == {
        "obs_id": "reddit:crawl-x:s1",
        "author": "alice",
        "created_utc": datetime(2026, 1, 1),
        "status": "removed",
        "source_file": "r/cooking/new",
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [("hi", "ok"), ("[deleted]", "deleted"), ("[removed]", "removed"), (None, "ok")],
)
def test_comment_status(body, status):
    assert comment_status(body) == status


@pytest.mark.parametrize(
    ("selftext", "category", "status"),
    [
        ("text", None, "ok"),
        ("[deleted]", None, "deleted"),
        ("[removed]", None, "removed"),
        ("", "deleted", "deleted"),
        ("", "moderator", "removed"),
    ],
)
def test_submission_status(selftext, category, status):
    assert submission_status(selftext, category) == status
