"""Stage ``ingest``: its result on the demo forum, locally and through Dask (spooled decode).

The local path runs the stage as a flow's task does, without Prefect (``tests.fixtures.demo.run``);
the Dask path runs it through the one execution path, ``flows.pipeline.run``, with ``[runner]
kind = "dask"`` on a real cluster (conftest ``dask_scheduler``) and a Prefect test server. The
expected values come from the dump lines themselves (parsed with ``json``) and truth.json, and
the Dask path must write exactly the local path's rows.
"""

from __future__ import annotations

import json
import re
import shutil
import traceback
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import warehouse
from communitybench.config import FilterConfig, RunnerConfig
from communitybench.sources.dumps import spool
from communitybench.sources.dumps.ingest import INGEST_VERSION
from communitybench.sources.dumps.runs import file_key
from flows import pipeline as flow
from tests.fixtures import demo
from tests.fixtures.dumps import (
    COMPARED,
    count,
    dump_lines,
    finished_runs,
    ingest_tables,
    record_of,
)

DATE_TO = date(2026, 2, 15)  # cuts the second month in half


class MergeCrash(RuntimeError):
    """Stands for the coordinator dying mid-merge."""


@pytest.fixture(scope="module")
def forum(demo_forum):
    """The session's demo forum (two months), its files (submissions first) and truth."""
    truth = demo.load_truth(demo_forum)
    return demo.dump_files(demo_forum, months=2), truth


@pytest.fixture(scope="module")
def kept(forum) -> list[str]:
    """Two of the forum's subreddits, one upper-cased (matching ignores case); the third is
    filtered out, so every file has filtered lines."""
    _, truth = forum
    subs = sorted({c["subreddit"] for c in truth["communities"].values()})
    assert len(subs) >= 3
    return [subs[0].upper(), subs[1]]


def local_config(files, kept):
    return demo.config_for(files, filters=FilterConfig(subreddits=kept, date_to=DATE_TO))


def dask_config(files, kept, address, spool_dir):
    runner = RunnerConfig(kind="dask", address=address, spool_dir=spool_dir)
    return local_config(files, kept).model_copy(update={"runner": runner})


@pytest.fixture(scope="module")
def local(forum, kept, tmp_path_factory):
    """The independent reference: the stage on the local path into its own warehouse."""
    files, _ = forum
    wh = tmp_path_factory.mktemp("local") / "wh.duckdb"
    return wh, demo.run(wh, local_config(files, kept), "ingest")["ingest"]


@pytest.fixture(scope="module")
def dasked(forum, kept, prefect_harness, dask_scheduler, tmp_path_factory):
    files, _ = forum
    root = tmp_path_factory.mktemp("dask")
    config = dask_config(files, kept, dask_scheduler, root / "spool")
    [result], _ = flow.run(config, root / "wh.duckdb", ["ingest"])
    return root / "wh.duckdb", config, result


def expected_file(path: Path, kept: list[str]) -> dict:
    """A file's report derived from its lines with ``json``: what loads, is filtered out or is
    quarantined (and why)."""
    wanted = {s.lower() for s in kept}
    end = datetime(DATE_TO.year, DATE_TO.month, DATE_TO.day, tzinfo=UTC).timestamp()
    row = {"lines_read": 0, "submissions": 0, "comments": 0, "filtered": 0}
    quarantined = Counter()
    for text in dump_lines(path):
        row["lines_read"] += 1
        record = record_of(text)
        if record is None:
            quarantined[_reason(text)] += 1
        elif record["subreddit"].lower() in wanted and int(record["created_utc"]) < end:
            row["submissions" if "title" in record else "comments"] += 1
        else:
            row["filtered"] += 1
    return {**row, "quarantined": dict(sorted(quarantined.items()))}


def _reason(text: str) -> str:
    """The quarantine reason of a planted malformed line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return "invalid_json"
    return "not_an_object" if not isinstance(value, dict) else "missing_id"


def test_local_result_counts_what_the_dump_lines_hold(forum, kept, local):
    files, truth = forum
    wh, result = local
    expected = {f.name: expected_file(f, kept) for f in files}
    assert (result.name, result.version) == ("ingest", INGEST_VERSION)
    assert result.counts("files").computed == len(files) and result.counts("files").reused == 0
    reports = {Path(f["path"]).name: f for f in result.details["files"]}
    for name, want in expected.items():
        got = reports[name]
        assert {k: got[k] for k in want} == want, name
        assert got["filtered"] > 0 and not got["skipped"] and got["resumed_from"] == 0
    total, quarantined = Counter(), Counter()
    for want in expected.values():
        total.update({k: v for k, v in want.items() if k != "quarantined"})
        quarantined.update(want["quarantined"])
    planted = sum(len(v) for v in truth["malformed_lines"].values())
    assert sum(quarantined.values()) == planted
    assert result.dropped == quarantined + Counter(filtered=total["filtered"])
    with warehouse.connect(wh, read_only=True) as con:
        stored = {t: count(con, f"select count(*) from {t}") for t in result.rows}
    assert result.rows == stored
    assert result.rows == {
        "raw_submissions": total["submissions"],
        "raw_comments": total["comments"],
        "quarantine": planted,
        "ingest_files": len(files),
        "ingest_runs": 1,
    }
    [table] = result.tables
    columns = ("lines_read", "submissions", "comments", "filtered")
    assert [row[:5] for row in table.rows] == [
        (f.name, *(expected[f.name][k] for k in columns)) for f in files
    ]
    assert [row[5] for row in table.rows] == [expected[f.name]["quarantined"] or 0 for f in files]
    assert result.details["runner"] == "local"


def test_local_rerun_reuses_every_file_and_appends_nothing(forum, kept, local, tmp_path):
    files, _ = forum
    copy = shutil.copy(local[0], tmp_path / "wh.duckdb")
    before = ingest_tables(copy)
    again = demo.run(copy, local_config(files, kept), "ingest")["ingest"]
    assert (again.counts("files").computed, again.counts("files").reused) == (0, len(files))
    assert again.dropped == {}
    assert again.rows == {
        "raw_submissions": 0,
        "raw_comments": 0,
        "quarantine": 0,
        "ingest_files": 0,
        "ingest_runs": 1,
    }
    assert all(row[1] == "already ingested" for row in again.tables[0].rows)
    assert ingest_tables(copy) == before


def test_dask_ingest_writes_the_local_paths_rows(local, dasked):
    local_wh, local_result = local
    wh, config, result = dasked
    expected, got = ingest_tables(local_wh), ingest_tables(wh)
    assert all(expected[name] for name in COMPARED)
    assert all(f["filtered"] > 0 for f in local_result.details["files"])
    for name in COMPARED:
        assert got[name] == expected[name], name
    assert result.details["files"] == local_result.details["files"]
    assert (result.work, result.dropped, result.rows) == (
        local_result.work,
        local_result.dropped,
        local_result.rows,
    )
    assert result.tables == local_result.tables
    assert result.details["runner"].startswith("dask scheduler")
    assert finished_runs(wh) == finished_runs(local_wh)
    with warehouse.connect(wh, read_only=True) as con:
        [(run_id,)] = con.execute("select ingest_run_id from ingest_runs").fetchall()
        stamped = con.execute(
            "select distinct ingest_run_id from raw_comments union "
            "select distinct ingest_run_id from quarantine"
        ).fetchall()
    assert stamped == [(run_id,)]
    assert not list(config.runner.spool_dir.iterdir())


def test_planted_malformed_lines_are_quarantined_at_their_lines(forum, dasked):
    _, truth = forum
    wh, _, result = dasked
    with warehouse.connect(wh, read_only=True) as con:
        got = con.execute("select source_file, source_line from quarantine order by 1, 2")
        got = [(f.rsplit("/", 1)[-1], n) for f, n in got.fetchall()]
    expected = sorted(
        (name, line) for name, lines in truth["malformed_lines"].items() for line in lines
    )
    assert expected and got == expected
    planted = sum(len(v) for v in truth["malformed_lines"].values())
    assert sum(sum(f["quarantined"].values()) for f in result.details["files"]) == planted
    assert result.rows["quarantine"] == planted


def test_rerun_adds_nothing(forum, dasked, tmp_path):
    files, _ = forum
    wh, config, _ = dasked
    copy = tmp_path / "wh.duckdb"
    shutil.copy(wh, copy)
    before = ingest_tables(copy)
    [again], _ = flow.run(config, copy, ["ingest"])
    assert [f["skipped"] for f in again.details["files"]] == [True] * len(files)
    assert again.counts("files").reused == len(files) and again.counts("files").computed == 0
    assert ingest_tables(copy) == before
    assert not list(config.runner.spool_dir.iterdir())


def test_interrupted_merge_is_merged_once_by_the_next_run(
    forum, kept, local, prefect_harness, dask_scheduler, tmp_path, monkeypatch
):
    files, truth = forum
    crashing = next(f for f in files if f.name in truth["malformed_lines"])
    config = dask_config(files, kept, dask_scheduler, tmp_path / "spool")
    real = spool._mark_completed

    def crash_after_inserts(con, key, path, lines_done):
        if path == crashing:
            raise MergeCrash(f"merge of {path.name} interrupted")
        real(con, key, path, lines_done)

    monkeypatch.setattr(spool, "_mark_completed", crash_after_inserts)
    with pytest.raises(MergeCrash) as crash:
        flow.run(config, tmp_path / "wh.duckdb", ["ingest"])
    # Prefect keeps the exception past the test: drop its frames' (closed) connections, or
    # DuckDB's bindings report them as leaked at interpreter exit
    traceback.clear_frames(crash.tb)
    monkeypatch.undo()
    key = file_key(crashing)
    assert _rows_of(tmp_path / "wh.duckdb", key) == 0  # the merge's transaction rolled back
    assert spool.spool_path(config.runner.spool_dir, key).exists()

    [result], _ = flow.run(config, tmp_path / "wh.duckdb", ["ingest"])
    local_wh, local_result = local
    assert ingest_tables(tmp_path / "wh.duckdb") == ingest_tables(local_wh)  # once: no duplicates
    reports = {f["path"]: f for f in result.details["files"]}
    expected = {f["path"]: f for f in local_result.details["files"]}
    assert reports[str(crashing)] == expected[str(crashing)]
    # the files from the crashed merge on were left to this run; the earlier ones were merged
    assert result.counts("files").computed == len(files) - files.index(crashing)
    assert not list(config.runner.spool_dir.iterdir())


def _rows_of(wh, key: str) -> int:
    """Raw and quarantine rows of one file (a helper: the test frame, which a failed flow's
    exception keeps alive, must hold no DuckDB connection)."""
    with warehouse.connect(wh, read_only=True) as con:
        return sum(
            count(con, f"select count(*) from {table} where {column} like ?", [pattern])
            for table, column, pattern in (
                ("raw_submissions", "obs_id", f"{key[:16]}:%"),
                ("raw_comments", "obs_id", f"{key[:16]}:%"),
                ("quarantine", "source_file_key", key),
            )
        )


def test_spool_left_by_a_crash_after_the_commit_is_removed(
    forum, kept, local, prefect_harness, dask_scheduler, tmp_path, monkeypatch
):
    files, _ = forum
    config = dask_config(files, kept, dask_scheduler, tmp_path / "spool")
    monkeypatch.setattr(spool, "remove_spool", lambda spool_file: None)
    flow.run(config, tmp_path / "wh.duckdb", ["ingest"])
    monkeypatch.undo()
    assert len(list(config.runner.spool_dir.glob("*.duckdb"))) == len(files)
    [again], _ = flow.run(config, tmp_path / "wh.duckdb", ["ingest"])
    assert all(f["skipped"] for f in again.details["files"])
    assert ingest_tables(tmp_path / "wh.duckdb") == ingest_tables(local[0])
    assert not list(config.runner.spool_dir.iterdir())


def test_missing_dump_fails_before_a_cluster_starts(forum, kept, tmp_path, monkeypatch):
    files, _ = forum

    def no_cluster(*args, **kwargs):
        raise AssertionError("a task runner was made before the paths were checked")

    monkeypatch.setattr(flow, "make_task_runner", no_cluster)
    for bad in (tmp_path / "RC_2026-13.zst", tmp_path):
        config = dask_config([files[0], bad], kept, None, tmp_path / "spool")
        with pytest.raises(FileNotFoundError, match=re.escape(str(bad))):
            flow.run(config, tmp_path / "wh.duckdb", ["ingest"])
    assert not (tmp_path / "wh.duckdb").exists()


def test_cli_ingest_on_dask_equals_local(
    forum, kept, local, prefect_harness, dask_scheduler, tmp_path
):
    """`communitybench ingest` with [runner] kind = "dask" goes through the spooled path; the
    --subreddit option overrides the config's filter the same way on both paths."""
    from typer.testing import CliRunner

    from flows.cli import app

    files, _ = forum
    config = tmp_path / "configs" / "dask.toml"
    config.parent.mkdir()
    config.write_text(
        f'[filters]\ndate_to = {DATE_TO.isoformat()}\n[runner]\nkind = "dask"\n'
        f'address = "{dask_scheduler}"\nspool_dir = "{tmp_path / "spool"}"\n'
    )
    wh = tmp_path / "cli.duckdb"
    args = ["-c", str(config), "-w", str(wh), "ingest", "--no-staging"]
    args += [arg for sub in kept for arg in ("-s", sub)] + [str(f) for f in files]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    local_wh, local_result = local
    assert ingest_tables(wh) == ingest_tables(local_wh)
    lines = result.output.splitlines()
    for row in local_result.details["files"]:  # the per-file table, printed as for the local path
        name = row["path"].rsplit("/", 1)[-1]
        (line,) = [line for line in lines if name in line]
        cells = [c.strip() for c in line.split("│")[1:-1]]
        want = [f"{row[k]:,}" for k in ("lines_read", "submissions", "comments", "filtered")]
        assert cells[1:5] == want
    assert not list((tmp_path / "spool").glob("*.duckdb"))
