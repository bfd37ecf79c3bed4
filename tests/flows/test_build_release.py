"""End to end through the real Prefect flow: demo forum → release N; a deletion observed later
and a takedown by pseudonym → release N+1 contains nothing derived from either."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

import warehouse
from communitybench import stages
from communitybench.config import load_config
from transforms.members import pseudonymize

KEY = "e2e-test-key"


def _build(root: Path):
    from flows.build_release import build_release

    config = load_config(root / "configs" / "demo.toml")
    return build_release(
        config=config,
        warehouse_path=root / "wh.duckdb",
        releases_dir=root / "releases",
        build_dir=root / "build",
    )


def _all_bytes(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture(scope="module")
def releases(tmp_path_factory, prefect_harness):
    mp = pytest.MonkeyPatch()
    mp.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", KEY)
    from communitybench.settings import get_settings

    get_settings.cache_clear()
    root = tmp_path_factory.mktemp("e2e")
    (root / "configs").mkdir()
    (root / "configs" / "takedowns.txt").write_text("# none yet\n")
    (root / "configs" / "demo.toml").write_text(
        '[source.demo]\nseed = 5\nscale = 0.3\nout_dir = "demo"\n'
        '[clean]\ntakedowns = "configs/takedowns.txt"\n'
    )
    first = _build(root)
    v1 = Path(first["release"]["path"])
    with warehouse.connect(root / "wh.duckdb", read_only=True) as con:
        deleted_option = con.execute(
            "select option_ids[1] from task_dp order by instance_id limit 1"
        ).fetchone()[0]
        victim_option, victim = con.execute(
            """select o.id, o.author from task_pi t, unnest(t.option_ids) as u(option)
               join stg_comments o on 't1_' || o.id = u.option
               where 't1_' || o.id <> ? order by t.instance_id limit 1""",
            [deleted_option],
        ).fetchone()
        victim_items = [
            r[0]
            for r in con.execute(
                "select 't1_' || id from stg_comments where author = ?", [victim]
            ).fetchall()
        ]
    # a later observation says the option was deleted (as a re-fetched dump would)
    refetch = root / "RC_refetch.zst"
    line = json.dumps(
        {
            "id": deleted_option[3:],
            "link_id": "t3_x",
            "parent_id": "t3_x",
            "subreddit": "x",
            "author": "[deleted]",
            "body": "[deleted]",
            "score": 1,
            "created_utc": 1767225600,
            "retrieved_on": 1893456000,
        }
    )
    refetch.write_bytes(zstandard.ZstdCompressor().compress(line.encode() + b"\n"))
    stages.run_ingest(
        root / "wh.duckdb",
        [refetch],
        subreddits=[],
        date_from=None,
        date_to=None,
        batch_lines=1000,
        max_line_bytes=10**6,
        progress=False,
    )
    [member] = pseudonymize([victim], key=KEY)
    (root / "configs" / "takedowns.txt").write_text(f"member:{member}\n")
    second = _build(root)
    yield {
        "root": root,
        "v1": v1,
        "v2": Path(second["release"]["path"]),
        "first": first,
        "second": second,
        "deleted": deleted_option,
        "victim": victim,
        "victim_items": victim_items,
        "victim_option": victim_option,
    }
    get_settings.cache_clear()
    mp.undo()


def test_first_release_is_complete(releases):
    v1 = releases["v1"]
    manifest = json.loads((v1 / "manifest.json").read_text())
    for task, counts in manifest["row_counts"].items():
        assert sum(counts.values()) > 20, task
        rows = sum(len((v1 / task / f"{s}.jsonl").read_text().splitlines()) for s in counts)
        assert rows == sum(counts.values())
    assert manifest["validation"]["success"]
    assert (releases["root"] / "releases" / "LATEST").read_text().strip() == releases["v2"].name


def test_deleted_option_is_gone_from_every_file(releases):
    deleted = releases["deleted"].encode()
    assert deleted in _all_bytes(releases["v1"])
    assert deleted not in _all_bytes(releases["v2"])


def test_taken_down_member_leaves_no_trace(releases):
    v2 = _all_bytes(releases["v2"])
    assert releases["victim"].encode() not in v2
    assert all(item.encode() not in v2 for item in releases["victim_items"])
    with warehouse.connect(releases["root"] / "wh.duckdb", read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from members where author = ?", [releases["victim"]]
            ).fetchone()[0]
            == 0
        )


def test_card_states_what_was_removed(releases):
    card = (releases["v2"] / "README.md").read_text()
    manifest = json.loads((releases["v2"] / "manifest.json").read_text())
    removed = manifest["diff"]["removed_items"]
    assert removed >= 2
    assert f"Removed since {releases['v1'].name}: {removed} items" in card
    assert manifest["diff"]["instances"]["removed"] >= 1


def test_a_rebuild_after_a_takedown_reclusters_only_the_touched_scopes(releases):
    first, second = releases["first"], releases["second"]
    com = second["communities"]["communities"]
    scopes = [s["scope"] for s in first["communities"]["communities"]["scopes"]]
    assert com["scopes_clustered"] and sorted(com["scopes_reused"] + com["scopes_clustered"]) == (
        sorted(scopes)
    )
    rows = {(r["stage"], r["unit"]): (r["reused"], r["computed"]) for r in second["stage_reuse"]}
    emb = second["communities"]["embeddings"]
    assert rows[("embeddings", "texts")] == (emb["cached"], 0)  # nothing new to embed
    assert rows[("communities", "scopes")] == (
        len(com["scopes_reused"]),
        len(com["scopes_clustered"]),
    )
    assert rows[("release", "releases")] == (0, 1)
    reused, computed = rows[("tasks", "instances")]
    assert reused > computed  # the takedown touched a few instances, not most
    # the first build found nothing to reuse
    first_rows = {(r["stage"], r["unit"]): r for r in first["stage_reuse"]}
    assert first_rows[("embeddings", "texts")]["reused"] == 0
    assert first_rows[("communities", "scopes")]["reused"] == 0


def test_no_change_rebuild_reuses_everything(releases):
    """Runs last: publishes v3 from v2's files without running the stages again."""
    third = _build(releases["root"])
    assert third["reuse"]["reusable"] and third["reuse"]["previous"] == releases["v2"].name
    assert "communities" not in third and "tasks" not in third
    v3 = Path(third["release"]["path"])
    assert third["release"]["reused_from"] == releases["v2"].name
    for data in sorted(releases["v2"].glob("*/*.*")):
        assert (v3 / data.relative_to(releases["v2"])).read_bytes() == data.read_bytes()
    manifest = json.loads((v3 / "manifest.json").read_text())
    assert manifest["version"] == v3.name and manifest["reused_from"] == releases["v2"].name
    assert manifest["diff"]["instances"]["added"] == manifest["diff"]["instances"]["removed"] == 0
    # every stage reports what it reused: here everything, and nothing computed
    reuse = third["stage_reuse"]
    stages_seen = {r["stage"] for r in reuse}
    assert stages_seen == {"ingest", "embeddings", "communities", "profiles", "tasks", "release"}
    assert [r for r in reuse if r["computed"] != 0 or r["reused"] == 0] == []
    with warehouse.connect(releases["root"] / "wh.duckdb", read_only=True) as con:
        logged = con.execute(
            "select stage, unit, reused, computed from stage_reuse where build_id = ? "
            "order by stage, unit",
            [v3.name],
        ).fetchall()
        builds = con.execute("select list(distinct build_id order by build_id) from stage_reuse")
        builds = builds.fetchone()[0]
    assert logged == sorted((r["stage"], r["unit"], r["reused"], r["computed"]) for r in reuse)
    assert builds == sorted([releases["v1"].name, releases["v2"].name, v3.name])
