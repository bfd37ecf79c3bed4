"""Kill-and-resume: the CLI crawl is SIGKILLed at several points, restarted, and ends with the
rows of a clean, uninterrupted crawl (sets of (id, body, score) per table, no duplicates).

The replay server decides when to kill: on the first request of a phase (a listing, the n-th
morechildren call of the large thread, the first member history) or a few milliseconds after
one, so the kill lands while the crawler is parsing or committing. Faults stay on throughout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from communitybench.config import load_config
from communitybench.env import PROJECT_ROOT
from communitybench.sources.reddit.options import crawl_options
from tests.conftest import shared_path
from tests.fakes.reddit_server import ReplayServer, load_recordings
from tests.sources.test_reddit import SECRET, USER_AGENT
from tests.sources.test_reddit_crawl import (  # noqa: F401 (clean is a fixture)
    OPTIONS,
    WORLD,
    assert_no_duplicates,
    clean,
    query,
    rowsets,
)

CONFIG = """
name = "resume-test"

[source]
kind = "reddit"

[reddit]
subreddits = ["announcements", "funny", "redditdev"]
listings = ["new", "top"]
replace_more_limit = -1
member_history_min_threads = 2
max_retries = 10
backoff_base_s = 0.01
backoff_max_s = 0.05
timeout_s = 5.0
"""
# registers the command the way cli.py does, unless cli.py already has it
RUNNER = (
    "from communitybench import cli\n"
    "from communitybench.commands.crawl import crawl\n"
    "if 'crawl' not in [c.name for c in cli.app.registered_commands]:\n"
    "    cli.app.command('crawl')(crawl)\n"
    "cli.app()\n"
)


def _nth(n: int, suffix: str):
    seen = []

    def predicate(method: str, path: str) -> bool:
        if path.endswith(suffix):
            seen.append(path)
        return len(seen) == n

    return predicate


def _kill_points() -> dict:
    """Kill point -> (trip predicate, delay before SIGKILL in seconds); fresh counters."""
    return {
        "listing": (lambda m, p: p == "/r/announcements/top", 0.0),  # between listing pages
        "expansion": (_nth(40, "/api/morechildren/"), 0.0),  # inside n49rw's replace_more
        "commit": (lambda m, p: p.startswith("/r/funny/"), 0.03),  # while pages are committed
        "members": (lambda m, p: p.startswith("/user/"), 0.0),  # member histories
    }


def _env(url: str, wh) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cache bytecode (outside the tree): faster restarts
    env.update(
        PYTHONPYCACHEPREFIX=str(PROJECT_ROOT / ".cache" / "pycache"),
        COMMUNITYBENCH_WAREHOUSE=str(wh),
        COMMUNITYBENCH_REDDIT_CLIENT_ID="cb-test-id",
        COMMUNITYBENCH_REDDIT_CLIENT_SECRET=SECRET,
        COMMUNITYBENCH_REDDIT_USER_AGENT=USER_AGENT,
        COMMUNITYBENCH_REDDIT_BASE_URL=url,
    )
    return env


def _start(cfg, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, "crawl", "--config", str(cfg)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_later(proc: subprocess.Popen, delay: float) -> None:
    if delay:
        threading.Timer(delay, proc.send_signal, args=(signal.SIGKILL,)).start()
    else:
        proc.send_signal(signal.SIGKILL)


@pytest.fixture(scope="module")
def recordings():
    return load_recordings(shared_path("reddit", "praw-cassettes"))


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param(("expansion", "commit"), id="2-kills"),
        pytest.param(
            ("listing", "expansion", "commit", "members"), id="4-kills", marks=pytest.mark.slow
        ),
    ],
)
def test_killed_crawls_resume_to_the_rows_of_a_clean_run(
    schedule,
    clean,  # noqa: F811
    recordings,
    tmp_path,
):
    cfg = tmp_path / "resume.toml"
    cfg.write_text(CONFIG)
    assert crawl_options(load_config(cfg).reddit) == OPTIONS  # the clean run's settings
    clean_wh = clean[0]

    wh = tmp_path / "killed.duckdb"
    outputs = []
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_rate=0.1, seed=5) as server:
        env = _env(server.url, wh)
        points = _kill_points()
        for phase in schedule:
            predicate, delay = points[phase]
            holder: list[subprocess.Popen] = []
            server.arm(predicate, lambda d=delay, h=holder: _kill_later(h[0], d))
            holder.append(_start(cfg, env))
            out, err = holder[0].communicate(timeout=120)
            outputs += [out, err]
            assert holder[0].returncode == -signal.SIGKILL, f"{phase}: {err[-2000:]}"
        final = _start(cfg, env)
        out, err = final.communicate(timeout=120)
        outputs += [out, err]
    assert final.returncode == 0, err[-2000:]

    assert rowsets(wh) == rowsets(clean_wh)
    assert_no_duplicates(wh)
    runs = query(wh, "select attempts, finished_at is not null from crawl_runs")
    assert runs == [(len(schedule) + 1, True)]
    assert query(wh, "select count(*) from crawl_threads where status = 'pending'") == [(0,)]
    assert "r/announcements" in out and f"{len(schedule) + 1} attempt(s) — resumed" in out
    assert not any(SECRET in text for text in outputs)
