"""Reddit source: thread/listing fetching against replayed real traffic, rows, retries, credentials.

The remote end is ``tests/fakes/reddit_server.py`` replaying praw's recorded cassettes from
../shared; expected counts are derived from the cassette JSON with a separate walk.
"""

from __future__ import annotations

import json
import random
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import praw
import pytest
import requests
from praw.config import Config
from praw.models import Comment, Submission
from prawcore.exceptions import NotFound, RequestException

from communitybench.config import RedditConfig, load_config
from communitybench.env import PROJECT_ROOT
from communitybench.settings import Settings
from communitybench.sources.reddit.client import (
    CredentialsError,
    RequestStats,
    RetriesExhausted,
    RetryPolicy,
    make_reddit,
    resolve_credentials,
    retry_after_seconds,
    retry_reason,
)
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
from tests.conftest import shared_path
from tests.fakes.reddit_server import ReplayServer, load_recordings, recorded_comments

SECRET = "cb-test-secret-Zq7Vw3x9Lk"
USER_AGENT = "python:communitybench-tests:0.1 (by u/communitybench)"
FAST = RetryPolicy(max_retries=8, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5)
LARGE = "TestCommentForest.test_replace__all_large"
FUNNY = "TestCommentForest.test_replace__all"
POLL = "TestPollData.test_get_attrs"


@pytest.fixture(scope="module")
def cassettes():
    return shared_path("reddit", "praw-cassettes")


@pytest.fixture(scope="module")
def recordings(cassettes):
    return load_recordings(cassettes)


def test_settings(url: str | None = None, **over) -> Settings:
    """Settings for a crawl against ``url`` (not read from the environment or .env)."""
    values = {
        "reddit_client_id": "cb-test-id",
        "reddit_client_secret": SECRET,
        "reddit_user_agent": USER_AGENT,
        "reddit_base_url": url,
    }
    return Settings(_env_file=None, **{**values, **over})


test_settings.__test__ = False  # a helper, not a test


def client(server, policy: RetryPolicy = FAST, sleep=None):
    stats = RequestStats()
    extra = {"sleep": sleep} if sleep else {}
    creds = resolve_credentials(test_settings(server.url))
    return make_reddit(creds, policy=policy, stats=stats, base_url=server.url, **extra), stats


def _recorded_more_calls(cassettes, name: str) -> int:
    data = json.loads((cassettes / f"{name}.json").read_text())
    return sum("/api/morechildren" in i["request"]["uri"] for i in data["interactions"])


def _served(server, needle: str) -> int:
    return sum(needle in path for _, path, _ in server.served)


def test_large_thread_expands_to_the_recorded_1428_comments(cassettes, recordings):
    expected = recorded_comments(cassettes, LARGE)
    top_level = {i for i, c in expected.items() if c["parent_id"] == "t3_n49rw"}
    assert (len(expected), len(top_level)) == (1428, 535)
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "n49rw", replace_more_limit=None, threshold=0)
    assert {c.id for c in fetch.comments} == set(expected)
    assert sum(c.parent_id == "t3_n49rw" for c in fetch.comments) == len(top_level)
    assert fetch.fully_expanded and fetch.more_remaining == 0 and fetch.error is None
    assert _served(server, "/api/morechildren") == _recorded_more_calls(cassettes, LARGE) == 232
    assert server.max_more_in_flight == 1
    assert all(status == 200 for _, _, status in server.served)


def _first_response(cassettes, name: str, thread: str) -> list:
    data = json.loads((cassettes / f"{name}.json").read_text())
    for item in data["interactions"]:
        if item["request"]["uri"].split("?")[0].rstrip("/").endswith(f"/comments/{thread}"):
            return json.loads(item["response"]["body"]["string"])
    raise AssertionError(f"{thread} not recorded")


def _kinds(node, kind: str) -> list[dict]:
    if isinstance(node, list):
        return [x for child in node for x in _kinds(child, kind)]
    if not isinstance(node, dict):
        return []
    found = [node["data"]] if node.get("kind") == kind else []
    children = node.get("data", {}).get("children") if node.get("kind") == "Listing" else None
    replies = node.get("data", {}).get("replies") if node.get("kind") == "t1" else None
    return found + _kinds(children or [], kind) + _kinds(replies or [], kind)


def test_replace_more_budget_zero_keeps_the_first_page_only(cassettes, recordings):
    first = _first_response(cassettes, FUNNY, "3hahrw")
    initial = {c["id"] for c in _kinds(first, "t1")}
    stubs = _kinds(first, "more")
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "3hahrw", replace_more_limit=0, threshold=0)
    assert {c.id for c in fetch.comments} == initial
    assert fetch.more_remaining == len(stubs) > 0
    assert not fetch.fully_expanded
    assert [p for _, p, _ in server.served if "access_token" not in p] == ["/comments/3hahrw/"]


def test_replace_more_budget_bounds_the_requests(cassettes, recordings):
    full = set(recorded_comments(cassettes, FUNNY))
    assert len(full) == 541
    with ReplayServer(recordings) as server:
        reddit, _ = client(server)
        fetch = fetch_thread(reddit, "3hahrw", replace_more_limit=3, threshold=0)
    ids = {c.id for c in fetch.comments}
    assert ids < full and not fetch.fully_expanded and fetch.more_remaining > 0
    expansions = _served(server, "/api/morechildren") + _served(server, "/comments/3hahrw/_/")
    assert expansions == 3


def test_permanent_expansion_failure_keeps_the_fetched_tree(cassettes, recordings):
    expected = recorded_comments(cassettes, POLL)  # only the first page was recorded
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


def test_every_fault_kind_is_retried_and_retry_after_honoured(recordings):
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=6, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=0.3)
    with ReplayServer(recordings, retry_after="2", stall_s=0.6) as server:
        server.script = ["429", "500", "drop", "truncate-short", "truncate-cut", "stall"]
        reddit, stats = client(server, policy, sleep=sleeps.append)
        fetch = fetch_thread(reddit, "2gmzqe", replace_more_limit=None, threshold=0)
    assert len(fetch.comments) == 2
    assert dict(stats.retries) == {
        "429": 1,
        "5xx": 1,
        "connection": 2,
        "bad_json": 1,
        "timeout": 1,
    }
    assert sleeps[0] >= 2.0  # Retry-After: 2 beats the 0.01 s backoff
    assert all(s <= 0.05 for s in sleeps[1:])


def test_exhausted_retries_surface_once_without_prawcore_retries(recordings):
    policy = RetryPolicy(max_retries=2, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=5)
    with ReplayServer(recordings) as server:
        server.script = ["500", "500", "500"]
        reddit, _ = client(server, policy)
        with pytest.raises(RequestException) as info:
            fetch_thread(reddit, "2gmzqe", replace_more_limit=None, threshold=0)
    assert isinstance(info.value.original_exception, RetriesExhausted)
    assert is_transient(info.value)
    assert server.count == 3  # prawcore's own 2-4 s retries never ran


def test_morechildren_calls_are_never_concurrent(recordings):
    results = []
    with ReplayServer(recordings) as server:
        server.more_delay_s = 0.01
        clients = [client(server)[0] for _ in range(2)]

        def crawl(reddit):
            results.append(fetch_thread(reddit, "3hahrw", replace_more_limit=None, threshold=0))

        workers = [threading.Thread(target=crawl, args=(r,)) for r in clients]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert [len(r.comments) for r in results] == [541, 541]
    assert server.max_more_in_flight == 1


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


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, b'{"kind": "Listing"}', None),
        (200, b'{"kind": "List', "bad_json"),
        (200, b"", "bad_json"),
        (200, b"<html>maintenance</html>", "bad_json"),
        (429, b"", "429"),
        (503, b"<html/>", "5xx"),
        (408, b"", "timeout"),
        (404, b'{"error": 404}', None),
        (403, b"<html/>", None),
    ],
)
def test_which_responses_are_retried(status, body, reason):
    response = requests.Response()
    response.status_code, response._content = status, body
    assert retry_reason(response) == reason


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after():
    rng = random.Random(0)
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=8.0)
    for attempt, ceiling in [(0, 1), (1, 2), (2, 4), (3, 8), (6, 8)]:
        assert ceiling / 2 <= policy.delay(attempt, None, rng) <= ceiling
    assert policy.delay(0, 30.0, rng) == 30.0
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 < retry_after_seconds(future) <= 90
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("soon") is None


@pytest.fixture
def praw_home(tmp_path, monkeypatch):
    """No praw.ini, no praw_* or COMMUNITYBENCH_REDDIT_* variables: a clean credential slate."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    for name in ("client_id", "client_secret", "user_agent", "site"):
        monkeypatch.delenv(f"praw_{name}", raising=False)
        monkeypatch.delenv(f"COMMUNITYBENCH_REDDIT_{name.upper()}", raising=False)
    monkeypatch.setattr(Config, "CONFIG", None)  # praw caches praw.ini per process
    return tmp_path


def test_missing_credentials_name_what_to_set(praw_home):
    with pytest.raises(CredentialsError) as info:
        resolve_credentials(Settings(_env_file=None))
    message = str(info.value)
    for name in ("CLIENT_ID", "CLIENT_SECRET", "USER_AGENT"):
        assert f"COMMUNITYBENCH_REDDIT_{name}" in message
        assert f"praw_{name.lower()}" in message
    assert "praw.ini" in message


def test_only_the_missing_credential_is_named(praw_home):
    with pytest.raises(CredentialsError) as info:
        resolve_credentials(test_settings(reddit_client_secret=None))
    assert "COMMUNITYBENCH_REDDIT_CLIENT_SECRET" in str(info.value)
    assert "CLIENT_ID" not in str(info.value)


def test_praw_environment_variables_still_work(praw_home, monkeypatch):
    monkeypatch.setenv("praw_client_id", "env-id")
    monkeypatch.setenv("praw_client_secret", SECRET)
    monkeypatch.setenv("praw_user_agent", USER_AGENT)
    creds = resolve_credentials(Settings(_env_file=None))
    assert (creds.client_id, creds.client_secret, creds.site_name) == ("env-id", SECRET, "DEFAULT")
    assert SECRET not in repr(creds)


def test_praw_ini_site_sections_still_work(praw_home, monkeypatch):
    (praw_home / "praw.ini").write_text(
        f"[bench]\nclient_id = ini-id\nclient_secret = {SECRET}\nuser_agent = {USER_AGENT}\n"
    )
    monkeypatch.setenv("praw_site", "bench")
    creds = resolve_credentials(Settings(_env_file=None))
    assert (creds.client_id, creds.user_agent, creds.site_name) == ("ini-id", USER_AGENT, "bench")


@pytest.mark.parametrize("agent", ["python-requests/2.31", "bot", "praw/8.0"])
def test_generic_user_agents_are_refused(praw_home, agent):
    with pytest.raises(CredentialsError, match="not descriptive"):
        resolve_credentials(test_settings(reddit_user_agent=agent))


def test_example_config_documents_every_crawl_setting():
    path = PROJECT_ROOT / "configs" / "reddit.example.toml"
    config = load_config(path)
    documented = tomllib.loads(path.read_text())["reddit"]
    assert set(documented) == set(RedditConfig.model_fields)
    assert config.source.kind == "reddit"
