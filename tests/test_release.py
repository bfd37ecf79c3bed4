"""Releases: layout, manifest hashes, HF datasets loading, gates, atomicity, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from communitybench import stages
from communitybench.config import BuildConfig
from communitybench.release import export as release_build
from communitybench.release.validation import ValidationFailed
from communitybench.release.versions import ReleaseError, sha256_file
from tests import release_fixtures as fx

ROOT = Path(__file__).resolve().parents[1]


def _release(wh, tmp_path, **kwargs):
    return stages.run_release(
        wh,
        config=BuildConfig(),
        releases_dir=tmp_path / "releases",
        build_dir=tmp_path / "build",
        progress=False,
        **kwargs,
    )


@pytest.fixture
def wh(tmp_path):
    path = tmp_path / "wh.duckdb"
    fx.build(path, n_threads=40).close()
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """One release shared by the read-only tests."""
    tmp_path = tmp_path_factory.mktemp("published")
    path = tmp_path / "wh.duckdb"
    fx.build(path, n_threads=40).close()
    result = _release(path, tmp_path, version="2026.11.23")
    return tmp_path, Path(result["path"])


def test_release_layout_manifest_and_card(published):
    tmp_path, folder = published
    assert folder == tmp_path / "releases" / "2026.11.23"
    assert (tmp_path / "releases" / "LATEST").read_text().strip() == "2026.11.23"
    manifest = json.loads((folder / "manifest.json").read_text())
    for task in ("pi", "dp", "ccg", "ci"):
        for split in ("train", "dev", "test"):
            for ext in ("parquet", "jsonl"):
                rel = f"{task}/{split}.{ext}"
                assert manifest["files"][rel] == sha256_file(folder / rel)
        assert sum(manifest["row_counts"][task].values()) == 40
    for rel in (
        "README.md",
        "stats.json",
        "plots/members_map.png",
        "plots/option_distributions.png",
        "plots/community_sizes.png",
    ):
        assert manifest["files"][rel] == sha256_file(folder / rel)
    assert manifest["config_hash"] == BuildConfig().config_hash()
    assert manifest["validation"]["success"] is True
    assert manifest["stage_versions"]["RELEASE_VERSION"] == "release_v1"
    card = (folder / "README.md").read_text()
    assert card.startswith("---\npretty_name: communitybench 2026.11.23\n")
    assert "  - split: test\n    path: ci/test.parquet" in card
    assert not list((tmp_path / "releases").glob(".tmp-*"))
    assert (tmp_path / "build" / "2026.11.23" / "data_docs" / "index.html").exists()


def test_release_loads_with_hf_datasets(published):
    datasets = pytest.importorskip("datasets")
    tmp_path, folder = published
    manifest = json.loads((folder / "manifest.json").read_text())
    for task, counts in manifest["row_counts"].items():
        loaded = datasets.load_dataset(str(folder), task, cache_dir=str(tmp_path / "hf"))
        assert {s: loaded[s].num_rows for s in loaded} == counts
        assert set(loaded["train"][0]) >= {"instance_id", "option_texts", "split"}
        assert loaded["train"][0]["split"] == "train"


def test_versions_increment_and_never_overwrite(wh, tmp_path):
    first = _release(wh, tmp_path)["version"]
    second = _release(wh, tmp_path)["version"]
    assert second == f"{first}-2"
    with pytest.raises(ReleaseError, match="never overwritten"):
        _release(wh, tmp_path, version=first)
    manifest = json.loads((tmp_path / "releases" / second / "manifest.json").read_text())
    assert manifest["diff"]["previous"] == first
    assert manifest["diff"]["instances"] == {"added": 0, "removed": 0, "kept": 160}


def test_corrupted_task_table_blocks_the_release(wh, tmp_path):
    import warehouse

    with warehouse.connect(wh) as con:
        con.execute(
            "update task_dp set distribution = [0.3, 0.3, 0.3] where instance_id = ?",
            [fx.iid("dp", 9)],
        )
    (tmp_path / "releases").mkdir()
    before = sorted(p.name for p in (tmp_path / "releases").iterdir())
    with pytest.raises(ValidationFailed, match=fx.iid("dp", 9)):
        _release(wh, tmp_path)
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == before


def test_crash_mid_export_leaves_no_partial_release(wh, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(release_build, "write_plots", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        _release(wh, tmp_path, version="v1")
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == []
    monkeypatch.undo()
    folder = Path(_release(wh, tmp_path, version="v1")["path"])
    assert (folder / "manifest.json").exists()


def test_sigkill_mid_export_then_rerun(wh, tmp_path):
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from communitybench.release import export as release_build
        from communitybench import stages
        from communitybench.config import BuildConfig
        real = release_build.write_plots
        def slow(*a, **k):
            Path({str(tmp_path / "marker")!r}).write_text("exporting")
            time.sleep(60)
        release_build.write_plots = slow
        stages.run_release(Path({str(wh)!r}), config=BuildConfig(),
                           releases_dir=Path({str(tmp_path / "releases")!r}),
                           build_dir=Path({str(tmp_path / "build")!r}), version="v1",
                           progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.time() + 120
    while not (tmp_path / "marker").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "marker").exists(), "the export never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    names = [p.name for p in (tmp_path / "releases").iterdir()]
    assert "v1" not in names and any(n.startswith(".tmp-v1-") for n in names)
    folder = Path(_release(wh, tmp_path, version="v1")["path"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert all(sha256_file(folder / rel) == h for rel, h in manifest["files"].items())
    assert [p.name for p in (tmp_path / "releases").iterdir() if p.name.startswith(".")] == []


def test_same_inputs_same_ids_and_splits(tmp_path):
    outs = []
    for run in ("a", "b"):
        path = tmp_path / run / "wh.duckdb"
        path.parent.mkdir()
        fx.build(path, n_threads=40).close()
        folder = Path(_release(path, tmp_path / run, version="x")["path"])
        outs.append(
            (
                json.loads((folder / "ids.json").read_text()),
                {str(p.relative_to(folder)): p.read_bytes() for p in folder.glob("*/*.jsonl")},
            )
        )
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] == outs[1][1]


def test_manifest_records_every_stage_version():
    import re

    defined = set()
    for path in [
        *ROOT.glob("communitybench/**/*.py"),
        *ROOT.glob("transforms/*.py"),
        *ROOT.glob("warehouse/**/*.py"),
    ]:
        defined |= set(re.findall(r"^([A-Z_]+_VERSION) = ", path.read_text(), re.M))
    assert set(release_build.stage_versions()) == defined
