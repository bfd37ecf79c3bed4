"""Stage ``crawl``: its result on the recorded Reddit world, the stages after it, and the stage
as a Prefect task (faults, a retried task resuming from the crawl's checkpoints).

Expected values come from the cassette JSON (``tests/fixtures/reddit.py``): the large
replace_more thread n49rw has 1,428 comments, fo7p5b keeps the 492 of its first page (its first
morechildren call is a 404), 3hahrw has 541 and 2gmzqe 2; the world is 4 submissions.
"""

from __future__ import annotations

import pytest

from communitybench.settings import get_settings
from communitybench.sources.reddit.store import CRAWL_VERSION
from flows.pipeline import run
from tests.fakes.reddit_server import ReplayServer
from tests.fixtures import demo, reddit


@pytest.fixture
def clean(tmp_path_factory) -> reddit.CleanCrawl:
    return reddit.clean_crawl(tmp_path_factory)


@pytest.fixture
def reddit_env(monkeypatch):
    yield lambda url: reddit.point_environment(monkeypatch, url)
    get_settings.cache_clear()


def per_subreddit(world: dict[str, list[str]]) -> dict[str, tuple]:
    """(posts, ok, partial, failed, pending, full, comments) per subreddit, from the cassettes."""
    comments = {sid: len(c) for sid, c in reddit.expected_comments().items()}
    partial = {"fo7p5b"}  # its expansion is a recorded 404
    return {
        f"r/{sub}": (
            len(ids),
            sum(i not in partial for i in ids),
            sum(i in partial for i in ids),
            0,
            0,
            sum(i not in partial for i in ids),
            sum(comments[i] for i in ids),
        )
        for sub, ids in world.items()
    }


def test_the_result_counts_what_the_cassettes_hold(clean):
    result = clean.result
    expected = reddit.expected_comments()
    comments = sum(len(c) for c in expected.values())
    submissions = sum(len(ids) for ids in reddit.WORLD.values())
    assert (submissions, comments) == (4, 2463)
    assert (result.name, result.version) == ("crawl", CRAWL_VERSION)
    observations = result.counts("observations")
    assert (observations.computed, observations.reused) == (submissions + comments, 0)
    assert dict(result.rows) == {"raw_submissions": submissions, "raw_comments": comments}
    assert dict(result.dropped) == {"expansion": 1, "member": 1}  # fo7p5b; overly_familiar
    [table] = result.tables
    assert table.columns == (
        "subreddit",
        "posts",
        "ok",
        "partial",
        "failed",
        "pending",
        "full",
        "comments",
    )
    assert {row[0]: row[1:] for row in table.rows} == per_subreddit(reddit.WORLD)
    assert [row[0] for row in table.rows] == ["r/announcements", "r/funny", "r/redditdev"]
    assert per_subreddit(reddit.WORLD)["r/announcements"][-1] == 1428 + 492
    assert f"{CRAWL_VERSION}), finished, 1 attempt(s)" in result.notes[0]
    assert result.notes[1] == "rows: 4 submissions, 2,463 comments (0 from 1 member histories)"
    assert result.notes[3] == "errors (see crawl_errors): expansion=1, member=1"
    assert result.seconds > 0


def test_staging_reads_crawled_rows_like_dump_rows(clean, tmp_path):
    wh = tmp_path / "wh.duckdb"
    wh.write_bytes(clean.warehouse.read_bytes())
    results = demo.run(wh, reddit.crawl_config(), "staging")
    assert results["staging"].rows["stg_comments"] == 2463
    assert results["staging"].rows["stg_submissions"] == 4


def test_the_flow_crawls_through_faults_then_stages(prefect_harness, reddit_env, tmp_path):
    from prefect.artifacts import Artifact

    world = {"funny": reddit.WORLD["funny"], "redditdev": reddit.WORLD["redditdev"]}
    config = reddit.crawl_config(subreddits=list(world), member_history_min_threads=0)
    wh = tmp_path / "wh.duckdb"
    with ReplayServer(
        reddit.recordings(), world=reddit.WORLD, page_size=1, fault_rate=0.1, seed=3
    ) as server:
        reddit_env(server.url)
        results, _ = run(config, wh, ["crawl", "staging"])
    crawl, staging = results
    comments = 541 + 2  # 3hahrw, 2gmzqe
    assert (crawl.name, staging.name) == ("crawl", "staging")
    assert dict(crawl.rows) == {"raw_submissions": 2, "raw_comments": comments}
    assert {row[0]: row[1:] for row in crawl.tables[0].rows} == per_subreddit(world)
    summary = crawl.details
    assert summary["finished"] and summary["totals"] == {"submissions": 2, "comments": comments}
    assert sum(server.faults.values()) > 0
    assert summary["retries"] == sum(server.faults.values()), (summary, server.faults)
    assert staging.rows["stg_comments"] == comments
    assert reddit.query(wh, "select count(*) from crawl_runs where finished_at is not null") == [
        (1,)
    ]
    artifact = Artifact.get("stage-crawl")
    assert "| r/funny | 1 | 1 | 0 | 0 | 0 | 1 | 541 |" in artifact.data
    assert reddit.SECRET not in artifact.data


def test_a_retried_task_resumes_the_crawl_from_its_checkpoints(
    prefect_harness, reddit_env, tmp_path
):
    world = {"funny": reddit.WORLD["funny"], "redditdev": reddit.WORLD["redditdev"]}
    config = reddit.crawl_config(
        subreddits=list(world), member_history_min_threads=0, max_retries=1, backoff_max_s=0.0
    )
    wh = tmp_path / "wh.duckdb"
    with ReplayServer(reddit.recordings(), world=reddit.WORLD, page_size=1) as server:
        # the API goes down at the first thread: its two attempts and the probe's two fail, the
        # crawl stops (CrawlAborted) and Prefect retries the task once the API is back
        server.arm(
            lambda method, path: path.startswith("/comments/"),
            lambda: server.script.extend(["500"] * 4),
        )
        reddit_env(server.url)
        [crawl], _ = run(config, wh, ["crawl"])
    assert server.faults == {"500": 4}
    summary = crawl.details
    assert summary["finished"] and summary["resumed"] and summary["attempts"] == 2
    assert summary["stored_before"] == {"submissions": 1, "comments": 0}  # r/funny's listings
    observations = crawl.counts("observations")
    assert (observations.reused, observations.computed) == (1, 1 + 541 + 2)
    assert dict(crawl.rows) == {"raw_submissions": 1, "raw_comments": 541 + 2}
    expected = reddit.expected_comments()
    ids = {r[0] for r in reddit.query(wh, "select id from raw_comments")}
    assert ids == set(expected["3hahrw"]) | set(expected["2gmzqe"])
    reddit.assert_no_duplicates(wh)
    assert "2 attempt(s) — resumed" in crawl.notes[0]
