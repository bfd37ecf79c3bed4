"""The praw client: retries (tenacity) against replayed real traffic, backoff, credentials.

The remote end is ``tests/fakes/reddit_server.py`` replaying praw's recorded cassettes from
../shared, with faults injected on demand.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from prawcore.exceptions import RequestException

from communitybench.settings import Settings
from communitybench.sources.reddit.client import (
    CredentialsError,
    RetriesExhausted,
    RetryPolicy,
    resolve_credentials,
    retry_after_seconds,
    retry_reason,
)
from communitybench.sources.reddit.fetch import fetch_thread, is_transient
from tests.fakes.reddit_server import ReplayServer
from tests.fixtures.reddit import SECRET, USER_AGENT, client, reddit_settings


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
    assert len(sleeps) == 6 == sum(stats.retries.values())  # one wait per retry
    assert sleeps[0] >= 2.0  # Retry-After: 2 beats the 0.01 s backoff
    assert all(s <= 0.05 for s in sleeps[1:])


def test_backoff_grows_exponentially_with_equal_jitter_up_to_the_cap(recordings):
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=6, backoff_base_s=1.0, backoff_max_s=8.0, timeout_s=5)
    with ReplayServer(recordings) as server:
        server.script = ["500"] * 6
        reddit, stats = client(server, policy, sleep=sleeps.append)
        fetch = fetch_thread(reddit, "2gmzqe", replace_more_limit=None, threshold=0)
    assert len(fetch.comments) == 2 and stats.retries == {"5xx": 6}
    ceilings = [1, 2, 4, 8, 8, 8]  # base * 2**retry, capped at backoff_max_s
    assert len(sleeps) == len(ceilings)
    for sleep, ceiling in zip(sleeps, ceilings, strict=True):
        assert ceiling / 2 <= sleep <= ceiling


def test_a_long_retry_after_beats_the_backoff_cap(recordings):
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=1, backoff_base_s=1.0, backoff_max_s=8.0, timeout_s=5)
    with ReplayServer(recordings, fault_kinds=("429",), retry_after="30") as server:
        server.script = ["429"]
        reddit, stats = client(server, policy, sleep=sleeps.append)
        fetch_thread(reddit, "2gmzqe", replace_more_limit=None, threshold=0)
    assert sleeps == [30.0] and stats.retries == {"429": 1}


def test_retry_after_headers_in_seconds_or_as_a_date():
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 < retry_after_seconds(future) <= 90
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_exhausted_retries_surface_once_without_prawcore_retries(recordings):
    policy = RetryPolicy(max_retries=2, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=5)
    with ReplayServer(recordings) as server:
        server.script = ["500", "500", "500"]
        reddit, stats = client(server, policy)
        with pytest.raises(RequestException) as info:
            fetch_thread(reddit, "2gmzqe", replace_more_limit=None, threshold=0)
    error = info.value.original_exception
    assert isinstance(error, RetriesExhausted)
    assert (error.reason, error.attempts) == ("5xx", 3)
    assert "/api/v1/access_token" in str(error)  # the first request: the token's
    assert info.value.request_kwargs == {}  # its kwargs hold the credentials: none kept
    assert SECRET not in repr(info.value.request_args)
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert is_transient(info.value)
    assert server.count == 3  # prawcore's own 2-4 s retries never ran
    assert stats.retries == {"5xx": 2}


def test_a_permanent_failure_is_not_retried(recordings):
    with ReplayServer(recordings) as server:
        reddit, stats = client(server)
        with pytest.raises(Exception) as info:
            fetch_thread(reddit, "zzzzzz", replace_more_limit=None, threshold=0)
    assert not is_transient(info.value)
    assert stats.retries == {} and server.count == 2  # the token, then one 404


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
        resolve_credentials(reddit_settings(reddit_client_secret=None))
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
        resolve_credentials(reddit_settings(reddit_user_agent=agent))
