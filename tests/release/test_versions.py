"""communitybench/release/versions.py: version names, atomic publication, LATEST."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from communitybench.release.versions import (
    ReleaseError,
    next_version,
    previous_release,
    publish,
    sha256_file,
    staging_dir,
)

DAY = datetime(2026, 3, 4, 23, 59, tzinfo=UTC)


def test_versions_are_the_utc_date_then_numbered(tmp_path):
    assert next_version(tmp_path, today=DAY) == "2026.03.04"
    (tmp_path / "2026.03.04").mkdir()
    assert next_version(tmp_path, today=DAY) == "2026.03.04-2"
    (tmp_path / "2026.03.04-2").mkdir()
    assert next_version(tmp_path, today=DAY) == "2026.03.04-3"
    assert next_version(tmp_path, today=DAY, requested="v7") == "v7"


def test_a_published_version_is_never_overwritten(tmp_path):
    (tmp_path / "v1").mkdir()
    with pytest.raises(ReleaseError, match="v1 already exists .* never overwritten"):
        next_version(tmp_path, today=DAY, requested="v1")
    tmp = staging_dir(tmp_path, "v1")
    with pytest.raises(ReleaseError, match="appeared while building; not overwriting it"):
        publish(tmp, tmp_path / "v1", tmp_path)


def test_publish_renames_the_folder_and_points_latest_at_it(tmp_path):
    releases = tmp_path / "releases"
    tmp = staging_dir(releases, "v1")
    assert tmp.name.startswith(".tmp-v1-")
    (tmp / "manifest.json").write_text(json.dumps({"version": "v1"}))
    (tmp / "ids.json").write_text(json.dumps({"communities": ["c"], "instances": ["pi:1"]}))
    publish(tmp, releases / "v1", releases)
    assert sorted(p.name for p in releases.iterdir()) == ["LATEST", "v1"]
    assert (releases / "LATEST").read_text() == "v1\n"
    assert previous_release(releases) == {
        "version": "v1",
        "communities": ["c"],
        "instances": ["pi:1"],
        "items": [],
    }


def test_a_new_staging_folder_removes_the_stale_ones_of_its_version(tmp_path):
    stale = tmp_path / ".tmp-v1-999999"
    stale.mkdir()
    (stale / "half.jsonl").write_text("{}")
    other = tmp_path / ".tmp-v2-999999"
    other.mkdir()
    fresh = staging_dir(tmp_path, "v1")
    assert not stale.exists() and other.exists() and fresh.exists()


def test_no_previous_release_without_latest(tmp_path):
    assert previous_release(tmp_path) is None
    (tmp_path / "LATEST").write_text("gone\n")  # names a folder without a manifest
    assert previous_release(tmp_path) is None


def test_sha256_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert sha256_file(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    )
