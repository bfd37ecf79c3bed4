"""End to end through the real Prefect flow: demo forum → release N; a deletion observed later
and a takedown by pseudonym → release N+1 contains nothing derived from either; a rebuild with
nothing changed → release N+2 republishes N+1's files with every derived stage carried over.

The module fixture runs the three builds in order and records what each left behind; the tests
only read it, so they hold in any order.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import zstandard

from tests.fixtures.demo import config_for, read, run
from tests.fixtures.release import all_bytes, manifest
from transforms.members import pseudonymize

KEY = "e2e-test-key"
# every stage of a demo build, in order (crawl is for source kind reddit)
BUILT = (
    "demo_forum",
    "ingest",
    "staging",
    "texts",
    "embeddings",
    "members",
    "communities",
    "labels",
    "profiles",
    "tasks",
    "release",
    "views",
)
CARRIED = ("texts", "embeddings", "members", "communities", "labels", "profiles", "tasks")


def _build(root: Path):
    from communitybench.config import load_config
    from flows.build_release import build_release

    return build_release(
        config=load_config(root / "configs" / "demo.toml"),
        warehouse_path=root / "wh.duckdb",
        releases_dir=root / "releases",
        build_dir=root / "build",
    )


def _latest(root: Path) -> str:
    return (root / "releases" / "LATEST").read_text().strip()


def _observe_deleted(root: Path, option: str) -> None:
    """A later observation says the option was deleted (as a re-fetched dump would)."""
    refetch = root / "RC_refetch.zst"
    line = {
        "id": option.removeprefix("t1_"),
        "link_id": "t3_x",
        "parent_id": "t3_x",
        "subreddit": "x",
        "author": "[deleted]",
        "body": "[deleted]",
        "score": 1,
        "created_utc": 1767225600,
        "retrieved_on": 1893456000,
    }
    refetch.write_bytes(zstandard.ZstdCompressor().compress(json.dumps(line).encode() + b"\n"))
    run(root / "wh.duckdb", config_for([refetch]), "ingest")  # a development command


@pytest.fixture(scope="module")
def builds(tmp_path_factory, prefect_harness):
    from communitybench.settings import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", KEY)
    get_settings.cache_clear()
    root = tmp_path_factory.mktemp("e2e")
    (root / "configs").mkdir()
    (root / "configs" / "takedowns.txt").write_text("# none yet\n")
    (root / "configs" / "demo.toml").write_text(
        '[source.demo]\nseed = 5\nscale = 0.3\nout_dir = "demo"\n'
        '[clean]\ntakedowns = "configs/takedowns.txt"\n'
    )
    try:
        first = _build(root)
        wh = root / "wh.duckdb"
        [(deleted,)] = read(wh, "select option_ids[1] from task_dp order by instance_id limit 1")
        [(victim_option, victim)] = read(
            wh,
            """select o.id, o.author from task_pi t, unnest(t.option_ids) as u(option)
               join stg_comments o on 't1_' || o.id = u.option
               where 't1_' || o.id <> ? order by t.instance_id limit 1""",
            [deleted],
        )
        victim_items = [
            r[0]
            for r in read(wh, "select 't1_' || id from stg_comments where author = ?", [victim])
        ]
        _observe_deleted(root, deleted)
        [member] = pseudonymize([victim], key=KEY)
        (root / "configs" / "takedowns.txt").write_text(f"member:{member}\n")
        second = _build(root)
        latest_after_second = _latest(root)
        third = _build(root)  # nothing changed since the second build
        yield SimpleNamespace(
            root=root,
            wh=wh,
            v1=Path(first.release["path"]),
            v2=Path(second.release["path"]),
            v3=Path(third.release["path"]),
            first=first,
            second=second,
            third=third,
            latest_after_second=latest_after_second,
            deleted=deleted,
            victim=victim,
            victim_items=victim_items,
            victim_option=victim_option,
        )
    finally:
        mp.undo()
        get_settings.cache_clear()


def test_first_release_is_complete(builds):
    data = manifest(builds.v1)
    for task, counts in data["row_counts"].items():
        assert sum(counts.values()) > 20, task
        rows = sum(len((builds.v1 / task / f"{s}.jsonl").read_text().splitlines()) for s in counts)
        assert rows == sum(counts.values())
    assert data["validation"]["success"]
    assert [r.name for r in builds.first.results] == list(BUILT)
    assert builds.first.reuse == {
        "fingerprint": data["input_fingerprint"],
        "previous": None,
        "reusable": False,
    }
    assert builds.latest_after_second == builds.v2.name
    assert _latest(builds.root) == builds.v3.name


def test_deleted_option_is_gone_from_every_file(builds):
    deleted = builds.deleted.encode()
    assert deleted in all_bytes(builds.v1)
    assert deleted not in all_bytes(builds.v2)


def test_taken_down_member_leaves_no_trace(builds):
    v2 = all_bytes(builds.v2)
    assert f"t1_{builds.victim_option}" in builds.victim_items
    assert builds.victim.encode() not in v2
    assert all(item.encode() not in v2 for item in builds.victim_items)
    assert read(builds.wh, "select count(*) from members where author = ?", [builds.victim]) == [
        (0,)
    ]


def test_card_states_what_was_removed(builds):
    card = (builds.v2 / "README.md").read_text()
    data = manifest(builds.v2)
    removed = data["diff"]["removed_items"]
    assert removed >= 2  # the deleted option and the victim's items
    assert f"Removed since {builds.v1.name}: {removed} items" in card
    assert data["diff"]["instances"]["removed"] >= 1


def _reuse(summary) -> dict:
    return {(r["stage"], r["unit"]): (r["reused"], r["computed"]) for r in summary.stage_reuse}


def test_a_rebuild_after_a_takedown_reclusters_only_the_touched_scopes(builds):
    first, second = builds.first, builds.second
    com = second.result("communities").details
    scopes = [s["scope"] for s in first.result("communities").details["scopes"]]
    assert com["scopes_clustered"]
    assert sorted(com["scopes_reused"] + com["scopes_clustered"]) == sorted(scopes)
    rows = _reuse(second)
    # counted in the warehouse (no input changed after the second build)
    [(distinct,)] = read(
        builds.wh, "select count(distinct text_hash) from texts where clean_text <> ''"
    )
    [(staged,)] = read(
        builds.wh,
        "select (select count(*) from stg_submissions) + (select count(*) from stg_comments)",
    )
    assert rows[("embeddings", "texts")] == (distinct, 0) and distinct > 0  # nothing new
    assert rows[("communities", "scopes")] == (
        len(com["scopes_reused"]),
        len(com["scopes_clustered"]),
    )
    assert rows[("release", "releases")] == (0, 1)
    assert rows[("ingest", "files")] == (2, 0)  # the demo's RS and RC files, already read
    assert rows[("staging", "rows")] == (0, staged)  # rebuilt on every build
    reused, computed = rows[("tasks", "instances")]
    assert reused > computed  # the takedown touched a few instances, not most
    assert second.reuse["reusable"] is False and second.reuse["previous"] == builds.v1.name
    # the first build found nothing to reuse
    first_rows = _reuse(first)
    assert first_rows[("embeddings", "texts")][0] == 0
    assert first_rows[("communities", "scopes")][0] == 0
    assert first_rows[("ingest", "files")] == (0, 2)


def test_no_change_rebuild_reuses_everything(builds):
    third = builds.third
    assert third.reuse["reusable"] and third.reuse["previous"] == builds.v2.name
    assert [r.name for r in third.results] == list(BUILT)
    for name in CARRIED:  # carried over, not run
        assert third.result(name).details == {"carried_from": builds.v2.name}, name
    assert third.release["reused_from"] == builds.v2.name
    for data in sorted(builds.v2.glob("*/*.*")):
        assert (builds.v3 / data.relative_to(builds.v2)).read_bytes() == data.read_bytes()
    data = manifest(builds.v3)
    assert data["version"] == builds.v3.name and data["reused_from"] == builds.v2.name
    assert data["diff"]["instances"]["added"] == data["diff"]["instances"]["removed"] == 0


def test_no_change_rebuild_logs_what_every_stage_carried(builds):
    """The stage_reuse rows of the republished build, derived from the warehouse by hand:
    carried stages report what the warehouse holds, staging and views run on every build."""
    wh, third = builds.wh, builds.third

    def count(sql: str) -> int:
        return read(wh, sql)[0][0]

    tasks = sum(count(f"select count(*) from task_{t}") for t in ("pi", "dp", "ccg", "ci"))
    expected = {
        ("demo_forum", "files"): (3, 0),  # RS, RC and truth.json, already there
        ("ingest", "files"): (2, 0),
        ("staging", "rows"): (
            0,
            count(
                "select (select count(*) from stg_submissions)"
                " + (select count(*) from stg_comments)"
            ),
        ),
        ("texts", "texts"): (count("select count(*) from texts"), 0),
        (
            "embeddings",
            "texts",
        ): (count("select count(distinct text_hash) from texts where clean_text <> ''"), 0),
        ("members", "members"): (count("select count(*) from members"), 0),
        ("communities", "scopes"): (count("select count(distinct scope) from memberships"), 0),
        ("communities", "communities"): (count("select count(*) from communities"), 0),
        ("labels", "option_sets"): (count("select count(*) from option_sets"), 0),
        ("profiles", "profiles"): (count("select count(*) from profiles"), 0),
        ("tasks", "instances"): (tasks, 0),
        ("release", "releases"): (1, 0),
        ("views", "views"): (0, 4),
    }
    assert _reuse(third) == expected
    assert all(reused > 0 for (stage, _), (reused, _) in expected.items() if stage in CARRIED)
    logged = read(
        wh,
        "select stage, unit, reused, computed from stage_reuse where build_id = ? "
        "order by stage, unit",
        [builds.v3.name],
    )
    assert logged == sorted((s, u, r, c) for (s, u), (r, c) in expected.items())
    [(builds_logged,)] = read(
        wh, "select list(distinct build_id order by build_id) from stage_reuse"
    )
    assert builds_logged == sorted([builds.v1.name, builds.v2.name, builds.v3.name])
