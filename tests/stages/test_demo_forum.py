"""Stage ``demo_forum``: writes the configured forum once, keeps it while seed, scale, months,
profile and generator version match, and reports what its truth.json plants."""

from __future__ import annotations

import hashlib
import json

import pytest

from communitybench.config import BuildConfig
from communitybench.sources.demo.forum import DEMO_FORUM_VERSION
from tests.fixtures import demo

SCALE = 0.3  # small: the stage's bookkeeping is under test, not the forum


def config(out, *, seed=3, months=2, profile="easy") -> BuildConfig:
    demo = {"out_dir": out, "seed": seed, "scale": SCALE, "months": months, "profile": profile}
    source = {"kind": "demo", "demo": demo}
    return BuildConfig(source=source)


def _shas(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A first run into an empty folder: the result and the files it wrote."""
    out = tmp_path_factory.mktemp("demo")
    result = demo.run(out / "wh.duckdb", config(out / "forum"), "demo_forum")["demo_forum"]
    return out, result, _shas(out / "forum")


def test_first_run_writes_every_file_and_reports_the_truth(written):
    out, result, files = written
    forum = out / "forum"
    truth = json.loads((forum / "truth.json").read_text())
    names = [p.name for p in demo.dump_files(forum, months=2)] + ["truth.json"]
    assert (result.name, result.version) == ("demo_forum", DEMO_FORUM_VERSION)
    assert sorted(files) == sorted(names)
    work = result.counts("files")
    assert (work.computed, work.reused) == (len(names), 0)
    assert result.rows == {} and result.dropped == {}  # files only, no tables
    summary = result.details
    assert sorted(summary["files"]) == sorted(names)
    assert {k: summary[k] for k in ("seed", "scale", "months")} == {
        "seed": 3,
        "scale": SCALE,
        "months": 2,
    }
    assert {k: truth[k] for k in ("seed", "scale", "months", "version")} == {
        "seed": 3,
        "scale": SCALE,
        "months": 2,
        "version": DEMO_FORUM_VERSION,
    }
    assert summary["members"] == len(truth["members"])
    assert summary["communities"] == len(truth["communities"])
    for key in ("deleted", "removed", "refetched_deleted", "duplicates"):
        assert summary[key] == len(truth[key]), key
    assert summary["malformed"] == sum(len(v) for v in truth["malformed_lines"].values())
    assert summary["threads_with_preferences"] == len(truth["preferences"])


def test_same_settings_keep_the_files(written, tmp_path):
    out, _, files = written
    again = demo.run(tmp_path / "wh.duckdb", config(out / "forum"), "demo_forum")["demo_forum"]
    work = again.counts("files")
    assert (work.computed, work.reused) == (0, len(files))
    assert again.details["reused"] is True
    assert _shas(out / "forum") == files


def test_other_settings_or_a_missing_file_rewrite_the_forum(tmp_path):
    forum = tmp_path / "forum"
    demo.run(tmp_path / "wh.duckdb", config(forum, months=2), "demo_forum")
    first = _shas(forum)
    one = demo.run(tmp_path / "wh.duckdb", config(forum, months=1), "demo_forum")["demo_forum"]
    assert one.counts("files").computed == 3 and one.counts("files").reused == 0
    assert sorted(_shas(forum)) == ["RC_2026-01.zst", "RS_2026-01.zst", "truth.json"]
    assert _shas(forum)["RC_2026-01.zst"] == first["RC_2026-01.zst"]  # month 1 never changes
    (forum / "RS_2026-01.zst").unlink()
    again = demo.run(tmp_path / "wh.duckdb", config(forum, months=1), "demo_forum")["demo_forum"]
    assert again.counts("files").computed == 3
    other = demo.run(tmp_path / "wh.duckdb", config(forum, seed=4, months=1), "demo_forum")
    assert other["demo_forum"].counts("files").computed == 3
    assert _shas(forum)["RC_2026-01.zst"] != first["RC_2026-01.zst"]


def test_the_profile_is_part_of_what_the_stage_keeps(tmp_path):
    forum, wh = tmp_path / "forum", tmp_path / "wh.duckdb"
    easy = demo.run(wh, config(forum, months=1), "demo_forum")["demo_forum"]
    easy_files = _shas(forum)
    assert easy.details["profile"] == "easy"
    assert "profile" not in json.loads((forum / "truth.json").read_text())  # as before profiles
    real = demo.run(wh, config(forum, months=1, profile="realistic"), "demo_forum")["demo_forum"]
    assert real.counts("files").computed == 3 and real.details["profile"] == "realistic"
    truth = json.loads((forum / "truth.json").read_text())
    assert truth["profile"] == "realistic" and None in truth["members"].values()
    assert "realistic profile" in real.work[0].note
    again = demo.run(wh, config(forum, months=1, profile="realistic"), "demo_forum")
    assert again["demo_forum"].counts("files").reused == 3
    back = demo.run(wh, config(forum, months=1), "demo_forum")["demo_forum"]
    assert back.counts("files").computed == 3 and _shas(forum) == easy_files
    kept = demo.run(wh, config(forum, months=1), "demo_forum")["demo_forum"]
    assert kept.counts("files").reused == 3  # an easy truth.json without "profile" is easy


def test_an_unknown_profile_is_a_config_error(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        config(tmp_path, profile="hard")
