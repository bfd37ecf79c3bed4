"""Dump ingest through Dask (spooled decode, merged by the flow) against the local path.

A real Dask cluster (conftest ``dask_scheduler``) and a Prefect test server; the local path's
warehouse and the demo forum's truth.json are the expected values.
"""

from __future__ import annotations

import json
import re
import shutil
import traceback
from datetime import date

import pytest

import warehouse
from communitybench import stages
from communitybench.config import BuildConfig, FilterConfig, RunnerConfig
from communitybench.sources.demo.forum import write_demo_forum
from communitybench.sources.dumps import spool
from communitybench.sources.dumps.ingest import file_key
from flows.ingest import ingest

# rows differ by design only in the id of the run that wrote them (and checkpoint times)
COMPARED = {
    "raw_submissions": "select * exclude (ingest_run_id) from raw_submissions order by obs_id",
    "raw_comments": "select * exclude (ingest_run_id) from raw_comments order by obs_id",
    "quarantine": "select * exclude (ingest_run_id) from quarantine order by all",
    "ingest_files": "select * exclude (updated_at) from ingest_files order by file_key",
}


# filters set, so the reports' filtered counts (derived from the spool's tables) are exercised
BASE = BuildConfig().model_copy(
    update={"filters": FilterConfig(subreddits=["Cooking", "gardening"], date_to=date(2026, 2, 15))}
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_forum(out, seed=11, scale=0.3, months=2)
    files = sorted(out.glob("RS_*.zst")) + sorted(out.glob("RC_*.zst"))
    return files, json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def local(demo, tmp_path_factory):
    """The independent reference: the local path into its own warehouse."""
    files, _ = demo
    wh = tmp_path_factory.mktemp("local") / "wh.duckdb"
    summary = stages.run_ingest(wh, files, **stages.ingest_kwargs(BASE), progress=False)
    return wh, summary


class MergeCrash(RuntimeError):
    """Stands for the coordinator dying mid-merge."""


def dask_config(address: str, spool_dir) -> BuildConfig:
    runner = RunnerConfig(kind="dask", address=address, spool_dir=spool_dir)
    return BASE.model_copy(update={"runner": runner})


@pytest.fixture(scope="module")
def dasked(demo, prefect_harness, dask_scheduler, tmp_path_factory):
    files, _ = demo
    root = tmp_path_factory.mktemp("dask")
    config = dask_config(dask_scheduler, root / "spool")
    summary = ingest(config, root / "wh.duckdb", paths=files)
    return root / "wh.duckdb", config, summary


def _tables(wh) -> dict:
    with warehouse.connect(wh, read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in COMPARED.items()}


def _runs(wh) -> list[tuple]:
    with warehouse.connect(wh, read_only=True) as con:
        return con.execute(
            "select files, lines_read, submissions_loaded, comments_loaded, filtered, quarantined"
            " from ingest_runs where finished_at is not null order by started_at"
        ).fetchall()


def _rows_of(wh, key: str) -> int:
    """Raw and quarantine rows of one file (a helper: the test frame, which a failed flow's
    exception keeps alive, must hold no DuckDB connection)."""
    with warehouse.connect(wh, read_only=True) as con:
        return sum(
            con.execute(
                f"select count(*) from {table} where {column} like ?", [pattern]
            ).fetchone()[0]
            for table, column, pattern in (
                ("raw_submissions", "obs_id", f"{key[:16]}:%"),
                ("raw_comments", "obs_id", f"{key[:16]}:%"),
                ("quarantine", "source_file_key", key),
            )
        )


def test_dask_ingest_writes_the_local_paths_rows(local, dasked):
    local_wh, local_summary = local
    wh, config, summary = dasked
    expected, got = _tables(local_wh), _tables(wh)
    assert all(expected[name] for name in COMPARED)
    assert all(f["filtered"] > 0 for f in local_summary["files"])
    for name in COMPARED:
        assert got[name] == expected[name], name
    assert summary["ingest"]["files"] == local_summary["files"]
    assert summary["ingest"]["runner"].startswith("dask scheduler")
    assert _runs(wh) == _runs(local_wh)
    with warehouse.connect(wh, read_only=True) as con:
        (run_id,) = con.execute("select ingest_run_id from ingest_runs").fetchone()
        stamped = con.execute(
            "select distinct ingest_run_id from raw_comments union "
            "select distinct ingest_run_id from quarantine"
        ).fetchall()
    assert stamped == [(run_id,)]
    assert not list(config.runner.spool_dir.iterdir())


def test_planted_malformed_lines_are_quarantined_at_their_lines(demo, dasked):
    _, truth = demo
    wh, _, summary = dasked
    with warehouse.connect(wh, read_only=True) as con:
        got = con.execute("select source_file, source_line from quarantine order by 1, 2")
        got = [(f.rsplit("/", 1)[-1], n) for f, n in got.fetchall()]
    expected = sorted(
        (name, line) for name, lines in truth["malformed_lines"].items() for line in lines
    )
    assert expected and got == expected
    planted = sum(len(v) for v in truth["malformed_lines"].values())
    assert sum(sum(f["quarantined"].values()) for f in summary["ingest"]["files"]) == planted


def test_rerun_adds_nothing(demo, dasked, tmp_path):
    files, _ = demo
    wh, config, _ = dasked
    copy = tmp_path / "wh.duckdb"
    shutil.copy(wh, copy)
    before = _tables(copy)
    again = ingest(config, copy, paths=files)["ingest"]
    assert [f["skipped"] for f in again["files"]] == [True] * len(files)
    assert _tables(copy) == before
    assert not list(config.runner.spool_dir.iterdir())


def test_interrupted_merge_is_merged_once_by_the_next_run(
    demo, local, prefect_harness, dask_scheduler, tmp_path, monkeypatch
):
    files, truth = demo
    crashing = next(f for f in files if f.name in truth["malformed_lines"])
    config = dask_config(dask_scheduler, tmp_path / "spool")
    real = spool._mark_completed

    def crash_after_inserts(con, key, path, lines_done):
        if path == crashing:
            raise MergeCrash(f"merge of {path.name} interrupted")
        real(con, key, path, lines_done)

    monkeypatch.setattr(spool, "_mark_completed", crash_after_inserts)
    with pytest.raises(MergeCrash) as crash:
        ingest(config, tmp_path / "wh.duckdb", paths=files)
    # Prefect keeps the exception past the test: drop its frames' (closed) connections, or
    # DuckDB's bindings report them as leaked at interpreter exit
    traceback.clear_frames(crash.tb)
    monkeypatch.undo()
    key = file_key(crashing)
    assert _rows_of(tmp_path / "wh.duckdb", key) == 0  # the merge's transaction rolled back
    assert spool.spool_path(config.runner.spool_dir, key).exists()

    summary = ingest(config, tmp_path / "wh.duckdb", paths=files)["ingest"]
    local_wh, local_summary = local
    assert _tables(tmp_path / "wh.duckdb") == _tables(local_wh)  # once: no duplicate rows
    reports = {f["path"]: f for f in summary["files"]}
    expected = {f["path"]: f for f in local_summary["files"]}
    assert reports[str(crashing)] == expected[str(crashing)]
    assert not list(config.runner.spool_dir.iterdir())


def test_spool_left_by_a_crash_after_the_commit_is_removed(
    demo, local, prefect_harness, dask_scheduler, tmp_path, monkeypatch
):
    files, _ = demo
    config = dask_config(dask_scheduler, tmp_path / "spool")
    monkeypatch.setattr(spool, "remove_spool", lambda spool_file: None)
    ingest(config, tmp_path / "wh.duckdb", paths=files)
    monkeypatch.undo()
    assert len(list(config.runner.spool_dir.glob("*.duckdb"))) == len(files)
    again = ingest(config, tmp_path / "wh.duckdb", paths=files)["ingest"]
    assert all(f["skipped"] for f in again["files"])
    assert _tables(tmp_path / "wh.duckdb") == _tables(local[0])
    assert not list(config.runner.spool_dir.iterdir())


def test_missing_dump_fails_before_a_cluster_starts(demo, prefect_harness, tmp_path, monkeypatch):
    files, _ = demo

    def no_cluster(*args, **kwargs):
        raise AssertionError("a task runner was made before the paths were checked")

    monkeypatch.setattr("flows.ingest.make_task_runner", no_cluster)
    config = dask_config(None, tmp_path / "spool")
    for bad in (tmp_path / "RC_2026-13.zst", tmp_path):
        with pytest.raises(FileNotFoundError, match=re.escape(str(bad))):
            ingest(config, tmp_path / "wh.duckdb", paths=[files[0], bad])
    assert not (tmp_path / "wh.duckdb").exists()


def test_cli_ingest_on_dask_equals_local(demo, local, prefect_harness, dask_scheduler, tmp_path):
    """`communitybench ingest` with [runner] kind = "dask" goes through the spooled flow; the
    --subreddit option overrides the config's filter the same way on both paths."""
    from typer.testing import CliRunner

    from communitybench.cli import app

    files, _ = demo
    config = tmp_path / "configs" / "dask.toml"
    config.parent.mkdir()
    config.write_text(
        '[filters]\ndate_to = 2026-02-15\n[runner]\nkind = "dask"\n'
        f'address = "{dask_scheduler}"\nspool_dir = "{tmp_path / "spool"}"\n'
    )
    wh = tmp_path / "cli.duckdb"
    args = ["-c", str(config), "-w", str(wh), "ingest", "--no-staging"]
    args += ["-s", "Cooking", "-s", "gardening", *map(str, files)]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    local_wh, local_summary = local
    assert _tables(wh) == _tables(local_wh)
    lines = result.output.splitlines()
    for row in local_summary["files"]:  # the per-file table, printed as for the local path
        name = row["path"].rsplit("/", 1)[-1]
        (line,) = [line for line in lines if name in line]
        cells = [c.strip() for c in line.split("│")[1:-1]]
        want = [f"{row[k]:,}" for k in ("lines_read", "submissions", "comments", "filtered")]
        assert cells[1:5] == want
    assert not list((tmp_path / "spool").glob("*.duckdb"))
