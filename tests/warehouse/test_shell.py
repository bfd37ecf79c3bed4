"""warehouse/shell.py and ``communitybench sql``: read-only statements, meta-commands, clear
errors, and a session that keeps working while a build is swapped in."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

import warehouse
from flows.cli import app
from tests.fixtures.demo import config_for, run
from warehouse import swap
from warehouse.shell import Shell, ShellError

JAN_1_2026 = 1767225600


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """Hand-written dump lines through the real ingest and staging stages, plus the views."""
    folder = tmp_path_factory.mktemp("shell")
    comment = {
        "id": "c1",
        "link_id": "t3_s1",
        "parent_id": "t3_s1",
        "subreddit": "cooking",
        "author": "cook_1",
        "body": "too short",  # under clean.min_chars: drop_reason too_short
        "score": 1,
        "created_utc": JAN_1_2026,
    }
    dump = folder / "RC_x.ndjson"
    dump.write_text(json.dumps(comment) + "\n")
    wh = folder / "wh.duckdb"
    run(wh, config_for([dump]), "ingest", "staging", "views")
    return wh


def test_sql_command_runs_queries_read_only(staged, tmp_path):
    runner = CliRunner(env={"COLUMNS": "200"})
    ok = runner.invoke(
        app,
        [
            "--warehouse",
            str(staged),
            "sql",
            "-c",
            "select 40 + 2 as answer; select * from v_drop_reasons",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "answer" in ok.output and "42" in ok.output and "too_short" in ok.output

    meta = runner.invoke(app, ["--warehouse", str(staged), "sql", "-c", ".schema v_drop_reasons"])
    assert meta.exit_code == 0 and "null = kept" in meta.output  # the contract's description

    write = runner.invoke(
        app, ["--warehouse", str(staged), "sql", "-c", "delete from stg_comments"]
    )
    assert write.exit_code == 1 and "read-only" in write.output

    missing = runner.invoke(
        app, ["--warehouse", str(tmp_path / "no.duckdb"), "sql", "-c", "select 1"]
    )
    assert missing.exit_code == 2 and "does not exist yet" in missing.output


def test_meta_commands_list_tables_and_views(staged, capsys):
    shell = Shell(staged, max_rows=50)
    try:
        assert shell.run(".views") and shell.run(".tables")
        assert not shell.run(".nope")
    finally:
        shell.close()
    out = capsys.readouterr()
    assert "v_drop_reasons" in out.out and "Rows per staging table" in out.out
    assert "stg_comments" in out.out and "unknown command .nope" in out.err


def test_a_shell_keeps_its_build_and_sees_the_next_after_reload(tmp_path):
    live = tmp_path / "wh.duckdb"
    with duckdb.connect(str(live)) as con:
        con.execute("create table t as select 1 as version")
    shell = Shell(live, max_rows=5)
    try:
        with swap.rebuild(live) as building:  # a build writes its copy meanwhile
            with duckdb.connect(str(building)) as con:
                con.execute("update t set version = 2")
            assert shell.con.execute("select version from t").fetchall() == [(1,)]
            assert not shell.stale()
        assert shell.stale()  # swapped in: the shell says so
        assert shell.con.execute("select version from t").fetchall() == [(1,)]
        assert shell.run(".reload") and not shell.stale()
        assert shell.con.execute("select version from t").fetchall() == [(2,)]
    finally:
        shell.close()


HOLD_FOR_WRITING = """
import sys
import duckdb

con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_missing_file_or_a_writer_holding_it_is_a_clear_error(tmp_path):
    with pytest.raises(ShellError, match="does not exist yet"):
        Shell(tmp_path / "none.duckdb", max_rows=5)
    path = tmp_path / "wh.duckdb"
    with warehouse.connect(path) as con:
        con.execute("create table t (x int)")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOR_WRITING, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(ShellError, match="is writing it right now"):
            Shell(path, max_rows=5)
    finally:
        holder.communicate("done\n", timeout=30)
    shell = Shell(path, max_rows=5)  # free again
    assert shell.run("select count(*) from t")
    shell.close()
