"""The ``crawl_reddit`` Prefect flow end to end (temporary Prefect server, replay API)."""

from __future__ import annotations

import pytest

from communitybench.config import BuildConfig, RedditConfig
from tests.conftest import shared_path
from tests.fakes.reddit_server import ReplayServer, load_recordings
from tests.sources.test_reddit import SECRET
from tests.sources.test_reddit_cli import reddit_env  # noqa: F401 (fixture)
from tests.sources.test_reddit_crawl import WORLD, query


@pytest.fixture(scope="module")
def recordings():
    return load_recordings(shared_path("reddit", "praw-cassettes"))


def test_crawl_reddit_flow(prefect_harness, recordings, reddit_env, tmp_path):  # noqa: F811
    from prefect.artifacts import Artifact

    from flows.crawl import crawl_reddit

    reddit = RedditConfig(
        subreddits=["funny", "redditdev"],
        listings=["new", "top"],
        replace_more_limit=-1,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
    wh = tmp_path / "wh.duckdb"
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_rate=0.1, seed=2) as server:
        reddit_env(server.url)
        summary = crawl_reddit(config=BuildConfig(reddit=reddit), warehouse_path=wh)
    assert summary["finished"] and summary["totals"] == {"submissions": 2, "comments": 543}
    assert summary["subreddits"]["funny"]["fully_expanded"] == 1
    assert summary["retries"] == sum(server.faults.values()), (summary, server.faults)
    assert summary["staging"]["tables"]["stg_comments"]["rows"] == 543
    assert query(wh, "select count(*) from crawl_runs where finished_at is not null") == [(1,)]
    artifact = Artifact.get("crawl-summary")
    assert "| r/funny | 1 | 1 |" in artifact.data and SECRET not in artifact.data
