"""``communitybench crawl`` (``flows.cli``): flags over config, clear credential errors, no secret
anywhere. The command runs the ``crawl`` stage through the one flow, so these tests need the
session's Prefect server."""

from __future__ import annotations

import base64
import logging

import pytest
from typer.testing import CliRunner

import warehouse
from flows.cli import app
from tests.fakes.reddit_server import ReplayServer
from tests.fixtures.reddit import CLIENT_ID, SECRET, WORLD, config_text, query

pytestmark = pytest.mark.usefixtures("prefect_harness")


def config_file(tmp_path, **reddit) -> str:
    """A crawl config with fast retries, new listings only and no expansions (``reddit`` over)."""
    path = tmp_path / "crawl.toml"
    values = {"listings": ["new"], "replace_more_limit": 0, "member_history_min_threads": 0}
    path.write_text(config_text("cli-test", **{"max_retries": 8, **values, **reddit}))
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_flags_override_the_config(recordings, reddit_env, tmp_path):
    wh = tmp_path / "wh.duckdb"
    cfg = config_file(tmp_path, subreddits=["funny"])
    with ReplayServer(recordings, world=WORLD, page_size=1) as server:
        reddit_env(server.url)
        result = invoke(
            "--warehouse", str(wh), "crawl", "--config", cfg, "-s", "announcements", "--limit", "1"
        )
    assert result.exit_code == 0, result.output
    assert query(wh, "select id from raw_submissions") == [("fo7p5b",)]  # newest, limit 1
    assert "r/announcements" in result.output and "r/funny" not in result.output


def test_missing_credentials_give_one_clear_message(praw_home, reddit_env, tmp_path):
    reddit_env(None, CLIENT_SECRET=None)
    cfg = config_file(tmp_path, subreddits=["funny"])
    result = invoke("--warehouse", str(tmp_path / "wh.duckdb"), "crawl", "--config", cfg)
    assert result.exit_code == 2
    assert "COMMUNITYBENCH_REDDIT_CLIENT_SECRET" in result.output
    assert "Traceback" not in result.output


def test_rejected_credentials_stop_the_crawl_with_a_clear_message(recordings, reddit_env, tmp_path):
    cfg = config_file(tmp_path, subreddits=["funny"])
    with ReplayServer(recordings, world=WORLD, page_size=1) as server:
        server.reject_token = True
        reddit_env(server.url)
        result = invoke("--warehouse", str(tmp_path / "wh.duckdb"), "crawl", "--config", cfg)
    assert result.exit_code == 2
    assert "rejected the credentials" in result.output and SECRET not in result.output
    # retrying cannot fix credentials: the stage's task ran once (an outage runs it 3 times)
    wh = tmp_path / "wh.duckdb"
    assert query(wh, "select attempts from crawl_runs") == [(1,)]


def test_no_subreddits_is_a_clear_error(reddit_env, tmp_path):
    reddit_env("http://127.0.0.1:9")
    cfg = config_file(tmp_path, subreddits=[])
    result = invoke("--warehouse", str(tmp_path / "wh.duckdb"), "crawl", "--config", cfg)
    assert result.exit_code == 2
    assert "no subreddits to crawl: list them in [reddit].subreddits" in result.output
    assert "--subreddit NAME" in result.output


def _text_columns(wh) -> dict[str, list[str]]:
    with warehouse.connect(wh, read_only=True) as con:
        cols = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like 'VARCHAR%'"
        ).fetchall()
        return {
            f"{t}.{c}": [str(v[0]) for v in con.execute(f'select "{c}" from "{t}"').fetchall()]
            for t, c in cols
        }


def test_the_client_secret_never_appears_in_logs_tables_or_outputs(
    recordings, reddit_env, tmp_path, caplog
):
    wh = tmp_path / "wh.duckdb"
    cfg = config_file(tmp_path, subreddits=["announcements", "funny"], max_retries=2)
    caplog.set_level(logging.DEBUG)
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_rate=0.3, seed=3) as server:
        server.always_fail.add("/comments/3hahrw/")  # recorded as RetriesExhausted
        reddit_env(server.url)
        result = invoke("--warehouse", str(wh), "crawl", "--config", cfg)
    assert result.exit_code == 0, result.output
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert server.token_auth and set(server.token_auth) == {f"Basic {basic}"}  # it was used
    columns = _text_columns(wh)
    assert "crawl_errors.message" in columns and columns["crawl_errors.message"]
    assert any("RetriesExhausted" in m for m in columns["crawl_errors.message"])
    assert "retry" in caplog.text  # retries were logged
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (SECRET, basic):
        assert secret not in result.output
        assert secret not in caplog.text
        assert not [name for name, values in columns.items() if any(secret in v for v in values)]
        assert secret.encode() not in files


def test_an_outage_stops_the_crawl_with_exit_code_1(recordings, reddit_env, tmp_path):
    wh = tmp_path / "wh.duckdb"
    cfg = config_file(tmp_path, subreddits=["funny"], max_retries=1, backoff_max_s=0.0)
    with ReplayServer(recordings, world=WORLD, page_size=1, fault_kinds=("500",)) as server:
        server.arm(
            lambda method, path: path.startswith("/comments/"),
            lambda: setattr(server, "fault_rate", 1.0),  # the API goes down for good
        )
        reddit_env(server.url)
        result = invoke("--warehouse", str(wh), "crawl", "--config", cfg)
    assert result.exit_code == 1, result.output
    assert "crawl stopped" in result.output and "run the crawl again" in result.output
    # the stage's task ran 3 times (retries=2), each resuming the same unfinished crawl
    assert query(wh, "select attempts, finished_at from crawl_runs") == [(3, None)]
    assert query(wh, "select submission_id, status from crawl_threads") == [("3hahrw", "pending")]
