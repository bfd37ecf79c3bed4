"""warehouse/swap.py: builds write a copy and swap it in; read-only sessions never wait."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from warehouse import swap

ROOT = Path(__file__).resolve().parents[2]

# A separate process holding a read-only connection on the live file; it answers each line it
# reads ("query", "reopen") with one JSON line, and exits on "quit".
READER = """
import json, sys
import duckdb

path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "quit":
        break
    if command == "reopen":
        con.close()
        con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute("select version, count(*) from t group by all order by all").fetchall()
        print(json.dumps({"rows": rows}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), flush=True)
"""

# A separate process that holds the build lock until it reads a line.
HOLDER = """
import sys
from warehouse import swap

with swap.rebuild(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def python(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Reader:
    """Talks to the READER process."""

    def __init__(self, path: Path):
        self.proc = python(READER, path)
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}, self.errors()

    def ask(self, command: str = "query") -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.errors()
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)

    def errors(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


def make_live(path: Path, version: int, rows: int = 2) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(f"create or replace table t as select {version} as version from range({rows})")


def query_once(path: Path) -> list:
    """What a brand-new read-only session in another process sees."""
    code = (
        "import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(json.dumps(con.execute("
        "'select version, count(*) from t group by all order by all').fetchall()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def live(tmp_path) -> Path:
    path = tmp_path / "wh.duckdb"
    make_live(path, version=1)
    return path


def test_read_only_session_keeps_answering_during_a_rebuild(live):
    reader = Reader(live)
    try:
        assert reader.ask() == {"rows": [[1, 2]]}
        with swap.rebuild(live) as building:
            assert building == live.with_name("wh.duckdb.building")
            with duckdb.connect(str(building)) as con:
                assert con.execute("select count(*) from t").fetchall() == [(2,)]  # a copy
                con.execute("insert into t select 2 from range(100000)")
                con.execute("delete from t where version = 1")
                # a build writing the copy: the live file still answers, old and new sessions
                assert reader.ask() == {"rows": [[1, 2]]}
                assert query_once(live) == [[1, 2]]
        # swapped: new sessions see the new build, the open one keeps its snapshot until reopened
        assert query_once(live) == [[2, 100000]]
        assert reader.ask() == {"rows": [[1, 2]]}
        assert reader.ask("reopen") == {"rows": [[2, 100000]]}
    finally:
        reader.close()
    assert not live.with_name("wh.duckdb.building").exists()
    assert not live.with_name("wh.duckdb.wal").exists()


def test_first_build_starts_from_an_empty_file(tmp_path):
    live = tmp_path / "new" / "wh.duckdb"
    with swap.rebuild(live) as building:
        assert not building.exists()
        make_live(building, version=7, rows=1)
    assert query_once(live) == [[7, 1]]


def test_failed_rebuild_leaves_the_live_file_byte_identical(live):
    before, inode = digest(live), live.stat().st_ino
    reader = Reader(live)
    try:
        with pytest.raises(RuntimeError, match="stage failed"):
            with swap.rebuild(live) as building:
                make_live(building, version=2, rows=50)
                raise RuntimeError("stage failed")
        assert digest(live) == before and live.stat().st_ino == inode
        assert reader.ask() == {"rows": [[1, 2]]}
    finally:
        reader.close()
    # the stale copy is kept for inspection and replaced by the next build; the lock is free
    assert live.with_name("wh.duckdb.building").exists()
    with swap.rebuild(live) as building:
        with duckdb.connect(str(building)) as con:
            assert con.execute("select count(*) from t").fetchall() == [(2,)]
    assert live.stat().st_ino != inode  # swapped in
    assert query_once(live) == [[1, 2]]


def test_second_concurrent_rebuild_fails_naming_the_holder(live):
    holder = python(HOLDER, live)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        with pytest.raises(swap.RebuildLocked, match=rf"another build \(pid {holder.pid}\)"):
            with swap.rebuild(live):
                pytest.fail("the body must not run")
    finally:
        holder.communicate("go\n", timeout=30)
    assert holder.returncode == 0
    with swap.rebuild(live) as building:  # released when the holder is done
        make_live(building, version=3, rows=1)
    assert query_once(live) == [[3, 1]]


def test_committed_changes_in_the_live_write_ahead_log_reach_the_build(tmp_path):
    live = tmp_path / "wh.duckdb"
    crash = f"""
    import duckdb, os
    con = duckdb.connect({str(live)!r})
    con.execute("create table t as select 1 as version")
    con.execute("checkpoint")
    con.execute("insert into t values (1)")  # committed, only in the WAL
    os._exit(0)  # a development command killed before its checkpoint
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(crash)], check=True)
    assert live.with_name("wh.duckdb.wal").exists()
    with swap.rebuild(live) as building:
        with duckdb.connect(str(building)) as con:
            con.execute("insert into t values (2)")
    assert not live.with_name("wh.duckdb.wal").exists()
    assert query_once(live) == [[1, 2], [2, 1]]


def test_a_live_file_written_during_the_build_is_not_overwritten(live):
    with pytest.raises(swap.RebuildError, match="changed during the build"):
        with swap.rebuild(live) as building:
            make_live(building, version=2)
            make_live(live, version=9)  # a development command writes the live file meanwhile
    assert query_once(live) == [[9, 2]]


def test_a_writer_on_the_live_file_gets_a_clear_error(live):
    con = duckdb.connect(str(live))  # this process writes the live file: the copy must wait
    try:
        code = "import sys; from warehouse import swap; swap.building_copy(sys.argv[1])"
        result = subprocess.run(
            [sys.executable, "-c", code, str(live)], cwd=ROOT, capture_output=True, text=True
        )
    finally:
        con.close()
    assert result.returncode == 1
    assert "another process has it open for writing" in result.stderr


# Queries the live file every 50 ms from its own process until told to stop, then reports.
POLLER = """
import json, sys, threading, time
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
stop, seen, errors, queries = threading.Event(), set(), [], 0
print("ready", flush=True)
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
while not stop.is_set():
    try:
        seen.add(con.execute("select count(*) from raw_comments").fetchone()[0])
        queries += 1
    except Exception as exc:
        errors.append(repr(exc))
    time.sleep(0.05)
print(json.dumps({"queries": queries, "seen": sorted(seen), "errors": errors[:3]}), flush=True)
"""


@pytest.mark.slow
def test_sql_session_stays_usable_during_a_real_build_release(tmp_path, prefect_harness):
    import warehouse
    from communitybench.config import load_config
    from flows.build_release import build_release

    config_path = tmp_path / "configs" / "small.toml"
    config_path.parent.mkdir()
    config_path.write_text('[source.demo]\nseed = 3\nscale = 0.3\nout_dir = "demo"\n')
    live = tmp_path / "wh.duckdb"
    with warehouse.connect(live) as con:
        warehouse.ensure_tables(con, layer="raw")
    poller = python(POLLER, live)
    try:
        assert poller.stdout.readline().strip() == "ready", poller.stderr.read()
        summary = build_release(
            config=load_config(config_path),
            warehouse_path=live,
            releases_dir=tmp_path / "releases",
            build_dir=tmp_path / "build",
        )
        out, err = poller.communicate("stop\n", timeout=60)
    finally:
        if poller.poll() is None:
            poller.kill()
    report = json.loads(out)
    assert report["errors"] == [] and report["seen"] == [0], (report, err)
    assert report["queries"] > 20  # it answered all through the build
    assert len(summary.result("views").details["created"]) == 4
    with warehouse.connect(live, read_only=True) as con:
        assert con.execute("select count(*) from raw_comments").fetchall()[0][0] > 0
        assert con.execute("select count(*) from v_community_summary").fetchall()[0][0] > 0
    assert not live.with_name("wh.duckdb.building").exists()
