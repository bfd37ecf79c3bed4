"""The console entry point: global options, env selection, clear errors, ingest counts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from communitybench.cli import app
from communitybench.settings import get_settings

runner = CliRunner(env={"COLUMNS": "200"})


def test_help_lists_only_working_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("build-release", "demo-forum", "ingest", "staging"):
        assert command in result.output


def test_ingest_prints_counts_and_honours_warehouse_option(tmp_path):
    dump = tmp_path / "RC_x.ndjson"
    rows = [
        {
            "id": f"c{i}",
            "link_id": "t3_s",
            "parent_id": "t3_s",
            "subreddit": "a",
            "author": f"u{i}",
            "body": "a comment long enough to keep",
            "score": 1,
            "created_utc": 1767225600,
        }
        for i in range(3)
    ]
    dump.write_text("\n".join(map(json.dumps, rows)) + "\n{broken\n")
    wh = tmp_path / "cli.duckdb"
    result = runner.invoke(app, ["--warehouse", str(wh), "ingest", str(dump)])
    assert result.exit_code == 0, result.output
    assert "invalid_json=1" in result.output
    assert "stg_comments" in result.output
    import warehouse

    with warehouse.connect(wh, read_only=True) as con:
        assert con.execute("select count(*) from stg_comments").fetchone() == (3,)


def test_config_from_environment_and_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[clean]\nmin_chars = -1\n")
    monkeypatch.setenv("COMMUNITYBENCH_CONFIG", str(bad))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["--warehouse", str(tmp_path / "w.duckdb"), "staging"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "clean.min_chars" in result.output and "Traceback" not in result.output


def test_missing_dump_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["-w", str(tmp_path / "w.duckdb"), "ingest", "nope.zst"])
    assert result.exit_code == 2
    assert "not found: nope.zst" in result.output


def test_bad_takedown_list_is_a_clear_error(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "takedowns.txt").write_text("t1_ok\nuser:bob\n")
    config = tmp_path / "configs" / "c.toml"
    config.write_text('[clean]\ntakedowns = "configs/takedowns.txt"\n')
    result = runner.invoke(app, ["-c", str(config), "-w", str(tmp_path / "w.duckdb"), "staging"])
    assert result.exit_code == 2
    assert "takedowns line 2: unknown prefix 'user'" in result.output
    assert "Traceback" not in result.output
