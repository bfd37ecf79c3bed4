"""Whole crawls against the replay server: exact counts, recorded errors, faults, outages.

The world and the expected values: ``tests/fixtures/reddit.py`` (counts derived from the cassette
JSON). ``clean`` is the session's uninterrupted crawl of it.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from communitybench.sources.reddit.client import RetryPolicy
from communitybench.sources.reddit.crawl import CrawlAborted
from communitybench.sources.reddit.options import CrawlOptions
from tests.fakes.reddit_server import ReplayServer
from tests.fixtures.reddit import (
    FAULT_REASONS,
    WORLD,
    assert_no_duplicates,
    cassette,
    crawl,
    crawl_with,
    query,
    rowsets,
)


def test_clean_crawl_matches_the_cassettes(clean, expected):
    wh = clean.warehouse
    per_thread = dict(query(wh, "select link_id, count(*) from raw_comments group by 1"))
    assert per_thread == {sid: len(c) for sid, c in expected.items()}
    assert per_thread == {"n49rw": 1428, "fo7p5b": 492, "3hahrw": 541, "2gmzqe": 2}
    top = {
        sid: sum(c["parent_id"] == f"t3_{sid}" for c in cs.values()) for sid, cs in expected.items()
    }
    threads = query(
        wh, "select submission_id, status, fully_expanded, top_level_count from crawl_threads"
    )
    assert set(threads) == {
        ("n49rw", "ok", True, top["n49rw"]),
        ("fo7p5b", "partial", False, top["fo7p5b"]),
        ("3hahrw", "ok", True, top["3hahrw"]),
        ("2gmzqe", "ok", True, top["2gmzqe"]),
    }
    everything = [c for comments in expected.values() for c in comments.values()]
    deleted = sum(c["body"] == "[deleted]" for c in everything)
    gone = sum(c["author"] == "[deleted]" for c in everything)  # praw hands these over as None
    assert query(wh, "select count(*) from raw_comments where status = 'deleted'")[0][0] == deleted
    assert query(wh, "select count(*) from raw_comments where author = '[deleted]'")[0][0] == gone
    assert (deleted, gone) == (41, 207)
    assert_no_duplicates(wh)


def test_clean_crawl_records_errors_and_member_histories(clean, expected):
    threads_by_author: dict[str, set] = {}
    for sid, comments in expected.items():
        for c in comments.values():
            threads_by_author.setdefault(c["author"], set()).add(sid)
    active = {a for a, t in threads_by_author.items() if len(t) >= 2 and a != "[deleted]"}
    assert active == {"overly_familiar"}  # not recorded: its history is a 404
    errors = set(
        query(clean.warehouse, "select target, kind, error_type, http_status from crawl_errors")
    )
    assert errors == {
        ("thread:fo7p5b", "expansion", "NotFound", 404),
        ("u/overly_familiar/comments", "member", "NotFound", 404),
    }
    assert clean.summary["errors"] == {"expansion": 1, "member": 1}
    assert clean.summary["members"] == {"histories": 1, "comments": 0}


def test_clean_crawl_pages_listings_and_keeps_source_conventions(clean):
    wh, summary = clean.warehouse, clean.summary
    crawl_id = summary["crawl_id"]
    paths = [p for _, p, _ in clean.server.served]
    assert paths.count("/r/announcements/new") == 2 and paths.count("/r/announcements/top") == 2
    checkpoints = query(
        wh,
        "select source_file, items_seen, pages, done from crawl_checkpoints where kind = 'listing'",
    )
    assert ("r/announcements/new", 2, 2, True) in checkpoints and all(c[3] for c in checkpoints)
    rows = query(wh, "select obs_id, id, source, ingest_run_id, source_file from raw_submissions")
    assert sorted(r[1] for r in rows) == sorted(i for ids in WORLD.values() for i in ids)
    for obs_id, sid, source, run, source_file in rows:
        assert (obs_id, source, run) == (f"reddit:{crawl_id}:{sid}", "reddit", crawl_id)
        assert source_file.startswith("r/") and source_file.endswith("/new")
    sources = query(
        wh, "select distinct source_file like 'thread:%', parent_id[:3] from raw_comments"
    )
    assert {s[0] for s in sources} == {True} and {s[1] for s in sources} == {"t1_", "t3_"}
    assert summary["subreddits"]["funny"] == {
        "submissions": 1,
        "threads_ok": 1,
        "threads_partial": 0,
        "threads_failed": 0,
        "threads_pending": 0,
        "fully_expanded": 1,
        "comments": 541,
    }
    assert list(summary["subreddits"]) == ["announcements", "funny", "redditdev"]
    assert summary["finished"] and summary["totals"] == {"submissions": 4, "comments": 2463}


def test_faults_give_the_same_rows_as_a_clean_run(clean, tmp_path):
    policy = RetryPolicy(max_retries=10, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5)
    kinds = ("429", "500", "drop", "truncate")  # timeouts: see test_client.py
    summary, server = crawl(tmp_path / "wh.duckdb", policy=policy, fault_rate=0.2, seed=11)
    assert rowsets(tmp_path / "wh.duckdb") == rowsets(clean.warehouse)
    assert_no_duplicates(tmp_path / "wh.duckdb")
    injected = sum(server.faults.values())
    assert injected > 0.15 * server.count
    assert {k.split("-")[0] for k in server.faults} == set(kinds)
    assert summary["retries"] == injected  # every fault cost exactly one retry
    by_reason = Counter()
    for fault, n in server.faults.items():
        by_reason[FAULT_REASONS[fault]] += n
    assert summary["retries_by_reason"] == dict(sorted(by_reason.items()))
    assert server.max_more_in_flight == 1


def test_an_outage_stops_the_crawl_and_the_next_run_resumes(recordings, expected, tmp_path):
    wh = tmp_path / "wh.duckdb"
    options = CrawlOptions(subreddits=("funny", "redditdev"), replace_more_limit=None)
    policy = RetryPolicy(max_retries=2, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=5)
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_kinds=("500",)) as server:
        server.arm(
            lambda method, path: path.startswith("/comments/"),
            lambda: setattr(server, "fault_rate", 1.0),  # the API goes down for good
        )
        with pytest.raises(CrawlAborted, match="run the crawl again"):
            crawl_with(server, wh, options, policy)
    states = query(wh, "select submission_id, status from crawl_threads")
    assert states == [("3hahrw", "pending")]
    assert query(wh, "select count(*) from crawl_errors") == [(0,)]
    summary, _ = crawl(wh, options)
    assert summary["resumed"] and summary["attempts"] == 2
    comments = {r[0] for r in query(wh, "select id from raw_comments")}
    assert comments == set(expected["3hahrw"]) | set(expected["2gmzqe"])
    assert summary["stored_before"] == {"submissions": 1, "comments": 0}  # r/funny's listing
    assert_no_duplicates(wh)


def test_a_finished_crawl_is_observed_again_not_resumed(tmp_path):
    wh = tmp_path / "wh.duckdb"
    options = CrawlOptions(subreddits=("funny",), listings=("new",), replace_more_limit=None)
    first, _ = crawl(wh, options)
    second, _ = crawl(wh, options)
    assert not second["resumed"] and second["crawl_id"] != first["crawl_id"]
    assert second["stored_before"] == {"submissions": 0, "comments": 0}
    rows = query(
        wh, "select count(*), count(distinct obs_id), count(distinct id) from raw_comments"
    )
    assert rows == [(1082, 1082, 541)]  # two observations of each comment


def test_recorded_askreddit_listing_with_unrecorded_threads(tmp_path):
    """The recorded r/askreddit top listing (t=all); its 100 threads were never recorded (404)."""
    data = cassette("TestSubredditListings.test_top")
    body = json.loads(data["interactions"][1]["response"]["body"]["string"])
    listed = {c["data"]["id"] for c in body["data"]["children"]}
    options = CrawlOptions(
        subreddits=("askreddit",), listings=("top",), time_filter="all", limit=100
    )
    wh = tmp_path / "wh.duckdb"
    summary, _ = crawl(wh, options)
    assert {r[0] for r in query(wh, "select id from raw_submissions")} == listed
    assert query(wh, "select status, count(*) from crawl_threads group by 1") == [
        ("failed", len(listed))
    ]
    errors = query(
        wh, "select kind, error_type, http_status, count(*) from crawl_errors group by all"
    )
    assert errors == [("thread", "NotFound", 404, len(listed))]
    assert summary["finished"]
    assert summary["subreddits"]["askreddit"]["threads_failed"] == len(listed) == 100


def test_a_thread_that_keeps_failing_is_recorded_and_the_crawl_goes_on(recordings, tmp_path):
    wh = tmp_path / "wh.duckdb"
    policy = RetryPolicy(max_retries=1, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=5)
    options = CrawlOptions(subreddits=("announcements",), listings=("new",), replace_more_limit=0)
    with ReplayServer(recordings, world=WORLD, page_size=1) as server:
        server.arm(
            lambda method, path: path == "/comments/fo7p5b/",
            lambda: server.script.extend(["500", "500"]),  # both attempts fail
        )
        summary = crawl_with(server, wh, options, policy)
    errors = query(wh, "select target, kind, error_type, transient from crawl_errors")
    assert errors == [("thread:fo7p5b", "thread", "RetriesExhausted", True)]
    states = set(query(wh, "select submission_id, status from crawl_threads"))
    assert states == {("fo7p5b", "failed"), ("n49rw", "ok")}
    assert summary["finished"] and summary["totals"]["comments"] > 0
    assert summary["subreddits"]["announcements"]["threads_failed"] == 1


def test_an_expansion_that_keeps_failing_keeps_the_partial_tree(recordings, tmp_path):
    wh = tmp_path / "wh.duckdb"
    policy = RetryPolicy(max_retries=1, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=5)
    options = CrawlOptions(subreddits=("funny",), listings=("new",), replace_more_limit=None)
    with ReplayServer(recordings, world=WORLD, page_size=1) as server:
        server.always_fail.add("/api/morechildren/")
        summary = crawl_with(server, wh, options, policy)
    [(status, full, count)] = query(
        wh, "select status, fully_expanded, comment_count from crawl_threads"
    )
    assert (status, full) == ("partial", False) and 0 < count < 541
    assert query(wh, "select count(*) from raw_comments") == [(count,)]
    errors = query(wh, "select target, kind, error_type, transient from crawl_errors")
    assert errors == [("thread:3hahrw", "expansion", "RetriesExhausted", True)]
    assert summary["finished"]
