"""Kill-and-resume: a crawl process is SIGKILLed at several points, restarted, and ends with the
rows of a clean, uninterrupted crawl (sets of (id, body, score) per table, no duplicates).

Each process runs the ``crawl`` stage the way the flow's task does (``pipeline.execute``: params
from the config, the warehouse, ``stages/crawl.run``) and prints its result with the renderer; it
skips the CLI's Prefect server, which a SIGKILLed process would leave running. The replay server
decides when to kill: on the first request of a phase (a listing, the n-th morechildren call of
the large thread, the first member history) or a few milliseconds after one, so the kill lands
while the crawler is parsing or committing. Faults stay on throughout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from communitybench.config import load_config
from communitybench.sources.reddit.options import crawl_options
from tests.fakes.reddit_server import ReplayServer
from tests.fixtures.reddit import (
    OPTIONS,
    ROOT,
    SECRET,
    WORLD,
    assert_no_duplicates,
    config_text,
    query,
    reddit_environment,
    rowsets,
)

RUNNER = (
    "import sys\n"
    "from communitybench import pipeline, render\n"
    "from communitybench.config import load_config\n"
    "stage = pipeline.stage('crawl')\n"
    "result = pipeline.execute(stage, load_config(sys.argv[1]), sys.argv[2])\n"
    "render.render_terminal([result])\n"
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


def _env(url: str) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cache bytecode (outside the tree): faster restarts
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / ".cache" / "pycache")
    env.update({k: v for k, v in reddit_environment(url).items() if v is not None})
    return env


def _start(cfg, wh, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(cfg), str(wh)],
        cwd=ROOT,
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


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param(("expansion", "commit"), id="2-kills"),
        pytest.param(
            ("listing", "expansion", "commit", "members"), id="4-kills", marks=pytest.mark.slow
        ),
    ],
)
def test_killed_crawls_resume_to_the_rows_of_a_clean_run(schedule, clean, recordings, tmp_path):
    cfg = tmp_path / "resume.toml"
    cfg.write_text(config_text("resume-test"))
    assert crawl_options(load_config(cfg).reddit) == OPTIONS  # the clean run's settings

    wh = tmp_path / "killed.duckdb"
    outputs = []
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_rate=0.1, seed=5) as server:
        env = _env(server.url)
        points = _kill_points()
        for phase in schedule:
            predicate, delay = points[phase]
            holder: list[subprocess.Popen] = []
            server.arm(predicate, lambda d=delay, h=holder: _kill_later(h[0], d))
            holder.append(_start(cfg, wh, env))
            out, err = holder[0].communicate(timeout=120)
            outputs += [out, err]
            assert holder[0].returncode == -signal.SIGKILL, f"{phase}: {err[-2000:]}"
        final = _start(cfg, wh, env)
        out, err = final.communicate(timeout=120)
        outputs += [out, err]
    assert final.returncode == 0, err[-2000:]

    assert rowsets(wh) == rowsets(clean.warehouse)
    assert_no_duplicates(wh)
    runs = query(wh, "select attempts, finished_at is not null from crawl_runs")
    assert runs == [(len(schedule) + 1, True)]
    assert query(wh, "select count(*) from crawl_threads where status = 'pending'") == [(0,)]
    assert "r/announcements" in out and f"{len(schedule) + 1} attempt(s) — resumed" in out
    assert not any(SECRET in text for text in outputs)
