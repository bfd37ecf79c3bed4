"""Stage ``release`` on the real marts of the demo build: layout, manifest hashes, HF datasets
loading, version numbering, determinism, gates that block, and republishing unchanged inputs.

The module fixture runs the stage three times, in order, and records what each left behind:
``2026.11.23`` (requested) from copy A, then two automatic versions of a fixed day, from copy B
(the same inputs) and from copy A again. Tests only read what it recorded, so they hold in any
order.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import warehouse
from communitybench import pipeline
from communitybench.release.shortcuts import ShortcutGateFailed
from communitybench.release.validation import ValidationFailed
from communitybench.release.versions import ReleaseError, sha256_file
from communitybench.stage import Work
from communitybench.stages import release as release_stage
from tests.fixtures.demo import read
from tests.fixtures.release import SPLITS, TASKS, entries, files_match_manifest, manifest

ROOT = Path(__file__).resolve().parents[2]
FIRST = "2026.11.23"
DAY = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def run_release(wh: Path, config, root: Path, **extras):
    """The release stage on ``wh``, publishing into ``root/releases``."""
    dirs = {"releases_dir": root / "releases", "build_dir": root / "build"}
    return pipeline.execute(pipeline.stage("release"), config, wh, **{**dirs, **extras})


@pytest.fixture(scope="module")
def releases(demo_build, tmp_path_factory):
    root = tmp_path_factory.mktemp("stage_release")
    a, b = demo_build.copy(root / "a.duckdb"), demo_build.copy(root / "b.duckdb")
    first = run_release(a, demo_build.config, root, version=FIRST)
    latest_after_first = (root / "releases" / "LATEST").read_text().strip()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(release_stage, "utc_now", lambda: DAY)  # no midnight between the two
        second = run_release(b, demo_build.config, root)
        third = run_release(a, demo_build.config, root)
    counts = dict(read(demo_build.warehouse, _task_counts()))
    return SimpleNamespace(
        root=root,
        a=a,
        first=first,
        second=second,
        third=third,
        latest_after_first=latest_after_first,
        counts=counts,
        folder=lambda r: Path(r.details["path"]),
    )


def _task_counts() -> str:
    return " union all ".join(f"select '{t}', count(*) from task_{t}" for t in TASKS)


def test_release_layout_manifest_and_card(releases, demo_build):
    folder = releases.folder(releases.first)
    assert folder == releases.root / "releases" / FIRST
    assert releases.latest_after_first == FIRST
    data = manifest(folder)
    for task in TASKS:
        for split in SPLITS:
            for ext in ("parquet", "jsonl"):
                rel = f"{task}/{split}.{ext}"
                assert data["files"][rel] == sha256_file(folder / rel)
        assert sum(data["row_counts"][task].values()) == releases.counts[task] > 0
    for rel in (
        "README.md",
        "stats.json",
        "ids.json",
        "plots/members_map.png",
        "plots/option_distributions.png",
        "plots/community_sizes.png",
        "baselines.json",
        "eval/lm_eval/communitybench_dp.yaml",
        "eval/prompts/judge.txt",
    ):
        assert data["files"][rel] == sha256_file(folder / rel)
    assert files_match_manifest(folder)
    assert data["config_hash"] == demo_build.config.config_hash()
    assert data["validation"]["success"] is True
    assert data["stage_versions"]["release"] == "release_v3"
    assert data["stage_versions"]["splits"] == "splits_v2"
    assert data["diff"] == {"previous": None}
    card = (folder / "README.md").read_text()
    assert card.startswith(f"---\npretty_name: communitybench {FIRST}\n")
    assert "  - split: test\n    path: ci/test.parquet" in card
    assert "First release: nothing to compare." in card
    assert not [n for n in entries(releases.root / "releases") if n.startswith(".tmp-")]
    assert (releases.root / "build" / FIRST / "data_docs" / "index.html").exists()


def test_the_result_says_what_was_built(releases):
    result = releases.first
    total = sum(releases.counts.values())
    assert result.work == (Work("releases", computed=1, note=f"{FIRST}: built and validated"),)
    audited = len(manifest(releases.folder(result))["shortcut_audit"])
    assert result.rows == {"instance_splits": total, "shortcut_audit": audited} and audited > 20
    checked = result.details["validation"]["tables"]
    assert "task_pi" in checked and "stg_comments" in checked
    assert result.notes == (
        f"release {releases.folder(result)} (validation passed; Data Docs in "
        f"{releases.root / 'build' / FIRST / 'data_docs'})",
        f"validation: {len(checked)} tables, {sum(t['checks'] for t in checked.values())} "
        "checks passed",
    )
    assert result.details["version"] == FIRST and result.details["reused_from"] is None
    # the instances per task and split, as published (manifest row counts)
    [table] = result.tables
    counts = manifest(releases.folder(result))["row_counts"]
    assert table.columns == ("task", "train", "dev", "test")
    assert {row[0]: row[1:] for row in table.rows} == {
        task: tuple(counts[task][s] for s in ("train", "dev", "test")) for task in counts
    }
    assert result.details["gates"]["counts"] == {
        f"{t}/{s}": n
        for t, per in sorted(manifest(releases.folder(result))["row_counts"].items())
        for s, n in sorted(per.items())
        if n
    }


def test_release_loads_with_hf_datasets(releases, tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = releases.folder(releases.first)
    for task, counts in manifest(folder)["row_counts"].items():
        loaded = datasets.load_dataset(str(folder), task, cache_dir=str(tmp_path / "hf"))
        assert {s: loaded[s].num_rows for s in loaded} == counts
        assert set(loaded["train"][0]) >= {"instance_id", "option_texts", "split"}
        assert loaded["train"][0]["split"] == "train"


def test_versions_increment_and_never_overwrite(releases, demo_build):
    second, third = releases.second.details["version"], releases.third.details["version"]
    assert second == "2026.03.04" and third == "2026.03.04-2"
    assert (releases.root / "releases" / "LATEST").read_text().strip() == third
    before = entries(releases.root / "releases")
    with pytest.raises(ReleaseError, match="never overwritten"):
        run_release(releases.a, demo_build.config, releases.root, version=FIRST)
    assert entries(releases.root / "releases") == before
    data = manifest(releases.folder(releases.third))
    assert data["diff"]["previous"] == second
    total = sum(releases.counts.values())
    assert data["diff"]["instances"] == {"added": 0, "removed": 0, "kept": total}
    assert data["diff"]["removed_items"] == 0
    assert data["created_at"] == DAY.isoformat(timespec="seconds")


def test_same_inputs_same_ids_and_splits(releases):
    """Copies A and B of the same marts give identical ids and split files."""
    a, b = releases.folder(releases.first), releases.folder(releases.second)
    assert json.loads((a / "ids.json").read_text()) == json.loads((b / "ids.json").read_text())
    for task in TASKS:
        for split in SPLITS:
            rel = f"{task}/{split}.jsonl"
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_manifest_records_every_stage_version(releases):
    defined = {}
    for path in [
        *ROOT.glob("communitybench/**/*.py"),
        *ROOT.glob("transforms/*.py"),
        *ROOT.glob("warehouse/**/*.py"),
    ]:
        defined |= dict(re.findall(r'^([A-Z_]+_VERSION) = "([^"]+)"', path.read_text(), re.M))
    recorded = manifest(releases.folder(releases.first))["stage_versions"]
    assert set(defined.values()) == set(recorded.values())
    assert set(recorded) == {*pipeline.versions(), *release_stage.SUB_VERSIONS}


def test_corrupted_task_table_blocks_the_release(demo_copy, demo_build, tmp_path):
    [(bad,)] = read(demo_copy, "select instance_id from task_dp order by instance_id limit 1")
    with warehouse.connect(demo_copy) as con:
        con.execute(
            "update task_dp set distribution = list_transform(distribution, lambda p: p * 0.9) "
            "where instance_id = ?",
            [bad],
        )
    (tmp_path / "releases").mkdir()
    with pytest.raises(ValidationFailed, match=bad) as info:
        run_release(demo_copy, demo_build.config, tmp_path)
    assert "task_dp.__sum_distribution" in str(info.value)
    assert entries(tmp_path / "releases") == []  # nothing published, nothing left behind


def test_unchanged_inputs_republish_the_latest_release(releases, demo_build, tmp_path):
    shutil.copytree(releases.root / "releases", tmp_path / "releases")
    previous = releases.third.details["version"]
    extras = {"releases_dir": tmp_path / "releases", "build_dir": tmp_path / "build"}
    decision = pipeline.reuse_decision(demo_build.config, releases.a, **extras)
    assert decision["reusable"] is True and decision["previous"] == previous
    assert decision["fingerprint"] == manifest(releases.folder(releases.third))["input_fingerprint"]
    stage = pipeline.stage("release")
    result = pipeline.carry(
        stage, demo_build.config, releases.a, previous=previous, version="r", **extras
    )
    folder = tmp_path / "releases" / "r"
    assert result.work == (
        Work("releases", reused=1, note=f"r: files republished from {previous}"),
    )
    for data in sorted((tmp_path / "releases" / previous).glob("*/*.*")):
        assert (folder / data.relative_to(tmp_path / "releases" / previous)).read_bytes() == (
            data.read_bytes()
        )
    republished = manifest(folder)
    assert republished["version"] == "r" and republished["reused_from"] == previous
    assert republished["diff"]["instances"]["added"] == republished["diff"]["instances"]["removed"]
    assert republished["diff"]["removed_items"] == 0
    assert files_match_manifest(folder)
    assert f"reused_from: `{previous}`" in (folder / "README.md").read_text()
    assert "## Baselines" in (folder / "README.md").read_text()
    assert (folder / "eval" / "lm_eval" / "communitybench_pi.yaml").read_bytes() == (
        tmp_path / "releases" / previous / "eval" / "lm_eval" / "communitybench_pi.yaml"
    ).read_bytes()
    assert (tmp_path / "releases" / "LATEST").read_text().strip() == "r"


def test_changed_inputs_are_not_reusable(releases, demo_build, tmp_path):
    wh = shutil.copy(releases.a, tmp_path / "wh.duckdb")
    extras = {"releases_dir": releases.root / "releases", "build_dir": tmp_path / "build"}
    assert pipeline.reuse_decision(demo_build.config, wh, **extras)["reusable"] is True
    with warehouse.connect(wh) as con:  # a later observation of a comment, as a re-fetch adds
        con.execute(
            "insert into raw_comments select * replace ('refetch:1' as obs_id) "
            "from raw_comments order by obs_id limit 1"
        )
    assert pipeline.reuse_decision(demo_build.config, wh, **extras)["reusable"] is False
    other = demo_build.config.model_copy(
        update={"splits": demo_build.config.splits.model_copy(update={"seed": 1})}
    )
    assert pipeline.reuse_decision(other, releases.a, **extras)["reusable"] is False
    takedowns = tmp_path / "takedowns.txt"
    takedowns.write_text("t1_nothing\n")
    listed = demo_build.config.model_copy(
        update={"clean": demo_build.config.clean.model_copy(update={"takedowns": takedowns})}
    )
    assert pipeline.reuse_decision(listed, releases.a, **extras)["reusable"] is False


# per PI / DP test instance: its answer and its options' posting times (from staging)
TEST_OPTIONS = """
    with answers as (
        select 'pi' as task, instance_id, option_ids, label from task_pi
        union all
        select 'dp', instance_id, option_ids,
            list_position(distribution, list_max(distribution)) - 1
        from task_dp
    ),
    o as (
        select a.task, a.instance_id, a.label, unnest(a.option_ids) as option_id,
            generate_subscripts(a.option_ids, 1) as pos
        from answers a join instance_splits s using (task, instance_id)
        where s.split = 'test'
    )
    select o.task, any_value(o.label), list(epoch(c.created_utc) order by o.pos)
    from o join stg_comments c on 't1_' || c.id = o.option_id
    group by o.task, o.instance_id
"""


def test_shortcut_audit_scores_each_test_split(releases, demo_build):
    audit = read(
        releases.a,
        "select task, split, baseline, n, hits, chance, blocks from shortcut_audit order by all",
    )
    by = {
        (task, baseline): (n, hits, chance, blocks)
        for task, _, baseline, n, hits, chance, blocks in audit
    }
    assert {split for _, split, *_ in audit} == {"test"} and not any(r[-1] for r in audit)
    for task in ("pi", "dp"):
        rows = [(label, times) for t, label, times in read(releases.a, TEST_OPTIONS) if t == task]
        earliest = sum(label == int(np.argmin(times)) for label, times in rows)
        latest = sum(label == int(np.argmax(times)) for label, times in rows)
        chance = float(np.mean([1 / len(times) for _, times in rows]))
        assert by[task, "earliest"][:3] == (len(rows), earliest, pytest.approx(chance)) > (0,)
        assert by[task, "latest"][1] == latest
        assert by[task, "fixed_first"][1] == sum(label == 0 for label, _ in rows)
        assert {"longest", "most_positive", "most_similar_query", "highest_exposure"} <= {
            b for t, b in by if t == task
        }
    data = manifest(releases.folder(releases.first))
    assert len(data["shortcut_audit"]) == len(audit)
    card = (releases.folder(releases.first) / "README.md").read_text()
    n, hits = by["pi", "earliest"][:2]
    assert (
        "## Shortcut audit" in card and f"| pi | test | earliest | {n} | {hits / n:.3f} |" in card
    )


PLANT_EARLIEST = """
    with o as (
        select instance_id, unnest(option_ids) as option_id,
            generate_subscripts(option_ids, 1) - 1 as pos
        from task_pi
    ),
    earliest as (
        select o.instance_id, arg_min(o.pos, c.created_utc) as pos
        from o join stg_comments c on 't1_' || c.id = o.option_id
        group by o.instance_id
    )
    update task_pi set label = earliest.pos from earliest
    where earliest.instance_id = task_pi.instance_id
"""


def test_a_planted_shortcut_blocks_the_release(demo_copy, demo_build, tmp_path):
    # every PI label moved to the earliest option: "pick the first reply" now answers PI
    with warehouse.connect(demo_copy) as con:
        con.execute(PLANT_EARLIEST)
    (tmp_path / "releases").mkdir()
    with pytest.raises(ShortcutGateFailed) as info:
        run_release(demo_copy, demo_build.config, tmp_path)
    [line] = [f for f in info.value.failures if "'earliest'" in f]
    assert line.startswith("pi/test: baseline 'earliest' accuracy 1.000")
    assert "> max_shortcut_lift 0.10" in line
    assert isinstance(info.value, ReleaseError)
    assert entries(tmp_path / "releases") == []  # nothing published, nothing left behind
    blocked = read(demo_copy, "select baseline from shortcut_audit where blocks and task = 'pi'")
    assert ("earliest",) in blocked
