"""``communitybench crawl``: flags over config, clear credential errors, no secret anywhere."""

from __future__ import annotations

import base64
import logging

import pytest
import typer
from typer.testing import CliRunner

import warehouse
from communitybench import cli
from communitybench.commands.crawl import crawl
from communitybench.settings import get_settings
from tests.conftest import shared_path
from tests.fakes.reddit_server import ReplayServer, load_recordings
from tests.sources.test_reddit import SECRET, USER_AGENT, praw_home  # noqa: F401 (fixture)
from tests.sources.test_reddit_crawl import WORLD, query

CLIENT_ID = "cb-test-id"


def config_file(tmp_path, **reddit) -> str:
    values = {
        "listings": ["new"],
        "replace_more_limit": 0,
        "max_retries": 8,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "timeout_s": 5.0,
        **reddit,
    }
    lines = ['name = "cli-test"', "", "[reddit]"]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in values.items()]
    path = tmp_path / "crawl.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def invoke(*args: str):
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.callback()(cli.main)
    app.command("crawl")(crawl)
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def recordings():
    return load_recordings(shared_path("reddit", "praw-cassettes"))


@pytest.fixture
def reddit_env(monkeypatch):
    """Credentials in the environment, as an operator sets them; settings re-read."""

    def point_at(url: str | None, **over) -> None:
        values = {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": SECRET, "USER_AGENT": USER_AGENT}
        values.update(BASE_URL=url, **over)
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(f"COMMUNITYBENCH_REDDIT_{name}", raising=False)
            else:
                monkeypatch.setenv(f"COMMUNITYBENCH_REDDIT_{name}", value)
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()


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


def test_missing_credentials_give_one_clear_message(praw_home, reddit_env, tmp_path):  # noqa: F811
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


def test_no_subreddits_is_a_clear_error(reddit_env, tmp_path):
    reddit_env("http://127.0.0.1:9")
    result = invoke(
        "--warehouse", str(tmp_path / "wh.duckdb"), "crawl", "--config", config_file(tmp_path)
    )
    assert result.exit_code == 2 and "--subreddit" in result.output


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
