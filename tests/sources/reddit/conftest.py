"""Fixtures of the Reddit source tests (constants and helpers: ``tests/fixtures/reddit.py``)."""

from __future__ import annotations

import pytest
from praw.config import Config

from communitybench.settings import get_settings
from tests.fixtures import reddit


@pytest.fixture(scope="session")
def recordings():
    """praw's cassettes indexed for the replay server."""
    return reddit.recordings()


@pytest.fixture(scope="session")
def expected():
    """Comments per thread of the test world, from the cassette JSON."""
    return reddit.expected_comments()


@pytest.fixture
def clean(tmp_path_factory) -> reddit.CleanCrawl:
    """The session's uninterrupted crawl of the test world (read-only)."""
    return reddit.clean_crawl(tmp_path_factory)


@pytest.fixture
def reddit_env(monkeypatch):
    """``point_at(url, **over)``: credentials in the environment, as an operator sets them."""
    yield lambda url, **over: reddit.point_environment(monkeypatch, url, **over)
    get_settings.cache_clear()


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
