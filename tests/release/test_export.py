"""communitybench/release/export.py: a release folder is written aside and renamed into place, so
an exception or a SIGKILL in the middle of the export leaves no partial release, and the rerun
publishes it whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import warehouse
from communitybench import pipeline
from communitybench.release import export
from tests.fixtures.demo import read
from tests.fixtures.release import SPLITS, TASKS, entries, files_match_manifest, manifest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = {"success": True, "tables": {}}


def write(wh: Path, releases: Path, config, version: str = "v1") -> Path:
    """Export the warehouse's splits as ``releases/<version>`` (what the release stage does
    once the gates passed)."""
    with warehouse.connect(wh, read_only=True) as con:
        return export.write_release(
            con,
            releases_dir=releases,
            version=version,
            config=config,
            validation=CHECKS,
            gates={},
            models={},
            created_at="2026-01-01T00:00:00+00:00",
            stage_versions=pipeline.versions(),
        )


def test_export_writes_every_task_split_with_the_warehouse_counts(
    split_warehouse, demo_build, tmp_path
):
    folder = write(split_warehouse, tmp_path / "releases", demo_build.config)
    rows = read(split_warehouse, "select task, split, count(*) from instance_splits group by all")
    expected = {task: {split: n for t, split, n in rows if t == task} for task in TASKS}
    counts = manifest(folder)["row_counts"]
    assert counts == {t: {s: expected[t].get(s, 0) for s in SPLITS} for t in TASKS}
    for task in TASKS:
        for split in SPLITS:
            lines = (folder / task / f"{split}.jsonl").read_text().splitlines()
            assert len(lines) == counts[task][split]
    assert files_match_manifest(folder)
    assert entries(tmp_path / "releases") == ["LATEST", "v1"]


def test_crash_mid_export_leaves_no_partial_release(
    split_warehouse, demo_build, tmp_path, monkeypatch
):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(export, "write_plots", boom)
    releases = tmp_path / "releases"
    with pytest.raises(RuntimeError, match="disk full"):
        write(split_warehouse, releases, demo_build.config)
    assert entries(releases) == []  # no version, no temporary folder, no LATEST
    monkeypatch.undo()
    folder = write(split_warehouse, releases, demo_build.config)
    assert files_match_manifest(folder) and entries(releases) == ["LATEST", "v1"]


SLOW_EXPORT = """
import sys, time
from pathlib import Path

import warehouse
from communitybench import pipeline
from communitybench.config import BuildConfig
from communitybench.release import export

wh, releases, marker = map(Path, sys.argv[1:4])

def slow(*args, **kwargs):  # the splits are written; the plots never finish
    marker.write_text("exporting")
    time.sleep(120)

export.write_plots = slow
with warehouse.connect(wh, read_only=True) as con:
    export.write_release(
        con, releases_dir=releases, version="v1", config=BuildConfig(),
        validation={"success": True, "tables": {}}, gates={}, models={},
        created_at="2026-01-01T00:00:00+00:00", stage_versions=pipeline.versions(),
    )
"""


def test_sigkill_mid_export_then_rerun(split_warehouse, demo_build, tmp_path):
    releases, marker = tmp_path / "releases", tmp_path / "marker"
    args = [sys.executable, "-c", textwrap.dedent(SLOW_EXPORT), split_warehouse, releases, marker]
    proc = subprocess.Popen(list(map(str, args)), cwd=ROOT)
    try:
        deadline = time.time() + 120
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert marker.exists(), "the export never started"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    names = entries(releases)
    [partial] = [n for n in names if n.startswith(".tmp-v1-")]
    assert "v1" not in names and "LATEST" not in names
    assert list((releases / partial).glob("*/*.parquet"))  # it died with split files written
    folder = write(split_warehouse, releases, demo_build.config)
    assert files_match_manifest(folder)
    assert entries(releases) == ["LATEST", "v1"]  # the stale temporary folder is gone


def test_code_revision_names_the_checkout_or_the_installed_version(monkeypatch, tmp_path):
    revision = export.code_revision()
    assert len(revision.removesuffix("-dirty")) == 40  # a git checkout here
    monkeypatch.setattr(export, "PACKAGE_DIR", tmp_path)  # no git repository there
    assert export.code_revision().startswith("communitybench ")
