"""Rebuilding communities: ids persist, unchanged scopes are reused, and the result equals
clustering every scope from scratch.

Every warehouse here is the session's demo build (month 1) run further through the real stages:
month 2 ingested (all of it, or one subreddit's), a subreddit's raw rows removed, the stage log
lost. "From scratch" is the same warehouse without ``community_scopes`` (no stored fingerprints:
every scope is clustered and matched to the previous communities).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

import warehouse
from communitybench.render import render_markdown
from flows import pipeline as flow
from tests.fixtures import demo
from tests.fixtures.communities import (
    CLUSTER_TABLES,
    COMMUNITY_STAGES,
    add_month_two,
    build_on,
    count_encode_calls,
    drop_tables,
    majority,
    partition,
    rows,
    with_communities,
)


def hashes(wh: Path, sql: str) -> set[str]:
    return {h for (h,) in demo.read(wh, sql)}


def from_scratch(wh: Path, tmp_path: Path, config):
    """A copy of ``wh`` clustered with no stored fingerprints; its path and result."""
    full = Path(shutil.copy(wh, tmp_path / "full.duckdb"))
    drop_tables(full, "community_scopes")
    return full, demo.run(full, config, "communities")["communities"]


def scopes_of(wh: Path) -> dict[str, tuple[int, int]]:
    """scope → (members, communities) as the last build stored them."""
    found = demo.read(wh, "select scope, members, communities from community_scopes")
    return {scope: (m, c) for scope, m, c in found}


@pytest.fixture(scope="module")
def month_two(demo_build, tmp_path_factory) -> tuple[Path, dict, list[int]]:
    """The demo build with month 2 added, rebuilt texts → communities; results, encode calls."""
    wh = demo_build.copy(tmp_path_factory.mktemp("month_two") / "wh.duckdb")
    add_month_two(wh, demo_build.forum)
    config = demo.demo_config(demo_build.forum, months=2)
    results, calls = build_on(wh, config, *COMMUNITY_STAGES)
    return wh, results, calls


@pytest.mark.filterwarnings("ignore:COMMUNITYBENCH_PSEUDONYM_KEY is not set")
def test_rebuild_on_the_same_data_embeds_nothing_and_keeps_every_id(
    demo_build, demo_copy, prefect_harness, monkeypatch
):
    calls = count_encode_calls(monkeypatch)
    results, _ = flow.run(demo_build.config, demo_copy, list(COMMUNITY_STAGES))
    by_name = {r.name: r for r in results}
    assert calls == []  # the encoder was never called
    embedded = demo_build.results["embeddings"].counts("texts").computed
    texts = by_name["embeddings"].counts("texts")
    assert (texts.computed, texts.reused) == (0, embedded)
    scopes = by_name["communities"].counts("scopes")
    assert (scopes.computed, scopes.reused) == (0, len(scopes_of(demo_build.warehouse)))
    for table in ("communities", "memberships", "community_scopes"):  # identical input:
        assert rows(demo_copy, table) == rows(demo_build.warehouse, table)  # identical rows
    lineage = demo.read(demo_copy, "select distinct status, jaccard from community_lineage")
    assert lineage == [("kept", 1.0)]
    n_found = len(demo_build.truth["communities"])
    assert by_name["communities"].details["lineage"] == {"kept": n_found}
    assert "noise share" in render_markdown(results)


def test_clustering_again_from_scratch_keeps_every_id(demo_build, demo_copy, tmp_path):
    full, result = from_scratch(demo_copy, tmp_path, demo_build.config)
    assert result.details["scopes_clustered"] == sorted(scopes_of(demo_build.warehouse))
    for table in ("communities", "memberships"):
        assert rows(full, table) == rows(demo_build.warehouse, table)
    lineage = demo.read(
        full, "select distinct status, match_method, jaccard from community_lineage"
    )
    assert lineage == [("kept", "jaccard", 1.0)]


def test_more_data_embeds_only_the_new_texts(demo_build, month_two):
    wh, results, calls = month_two
    texts = hashes(wh, "select text_hash from texts where clean_text <> ''")
    cached = hashes(demo_build.warehouse, "select text_hash from embeddings")
    work = results["embeddings"].counts("texts")
    assert (work.computed, work.reused) == (len(texts - cached), len(texts & cached))
    assert 0 < work.computed < 0.2 * len(texts)  # month 2 is a small addition
    assert sum(calls) == work.computed


def test_more_data_keeps_community_ids(demo_build, month_two):
    wh, results, _ = month_two
    truth = demo_build.truth
    before = majority(demo.found_vs_planted(demo_build.warehouse, truth))
    after_rows = demo.found_vs_planted(wh, truth)
    after = majority(after_rows)
    # the demo's planted membership does not change between months
    kept = sum(before[c] == after[c] for c in truth["communities"])
    assert kept >= 0.9 * len(truth["communities"])
    assert adjusted_rand_score(after_rows["planted"], after_rows["found"]) >= 0.9
    assert results["communities"].details["lineage"].get("kept", 0) >= kept
    assert results["communities"].counts("communities").reused >= kept


def test_new_data_in_one_subreddit_reclusters_only_that_subreddit(demo_build, tmp_path):
    """Month 2 of the smallest subreddit only: the other subreddits keep their rows."""
    first = demo_build.warehouse
    members = scopes_of(first)
    touched = min(members, key=lambda s: members[s][0])
    wh = demo_build.copy(tmp_path / "wh.duckdb")
    add_month_two(wh, demo_build.forum, subreddits=[touched])
    config = demo.demo_config(demo_build.forum, months=2, filters={"subreddits": [touched]})
    results, _ = build_on(wh, config, "texts", "embeddings", "members")
    assert results["embeddings"].counts("texts").computed > 0
    full, scratch = from_scratch(wh, tmp_path, config)
    result = demo.run(wh, config, "communities")["communities"]

    assert result.details["scopes_clustered"] == [touched]
    assert result.details["scopes_reused"] == sorted(set(members) - {touched})
    scopes = result.counts("scopes")
    assert (scopes.computed, scopes.reused) == (1, len(members) - 1)
    untouched = f"scope <> '{touched}'"
    for table in ("communities", "memberships"):
        assert rows(wh, table, untouched) == rows(first, table, untouched), table
    # the touched subreddit was clustered again: it has new activity from its members
    mine = f"scope = '{touched}'"
    assert rows(wh, "memberships", mine) != rows(first, "memberships", mine)
    # identical to clustering every subreddit from scratch: rows, partition and ids
    for table in CLUSTER_TABLES:
        assert rows(wh, table) == rows(full, table), table
    assert result.details["lineage"] == scratch.details["lineage"]
    a, b = partition(wh), partition(full)
    assert adjusted_rand_score(a["found"], b["found"]) == 1.0
    assert a.equals(b)
    stored, again = rows(wh, "community_scopes"), rows(full, "community_scopes")
    assert [r[:4] for r in stored] == [r[:4] for r in again]  # same fingerprints and counts
    before = {r[0]: r for r in rows(first, "community_scopes")}
    assert [r for r in stored if r[0] != touched] == [
        before[s] for s in sorted(before) if s != touched
    ]  # reused: fingerprint, counts and clustering time as stored
    assert {r[0]: r[4] for r in stored}[touched] > before[touched][4]  # clustered now


def test_stored_rows_that_no_longer_add_up_are_not_reused(demo_build, demo_copy):
    [(scope,)] = demo.read(
        demo_copy,
        "select scope from memberships where rowid = (select max(rowid) from memberships)",
    )
    with warehouse.connect(demo_copy) as con:  # a scope's stored rows lost one member
        con.execute("delete from memberships where rowid = (select max(rowid) from memberships)")
    result = demo.run(demo_copy, demo_build.config, "communities")["communities"]
    everything = scopes_of(demo_build.warehouse)
    assert result.details["scopes_clustered"] == [scope]
    assert result.details["scopes_reused"] == sorted(set(everything) - {scope})
    # memberships rows: one per member and level (forum, sub)
    assert 2 * result.details["members"] == sum(m for m, _ in everything.values())
    for table in ("communities", "memberships"):  # the same inputs: the same rows again
        assert rows(demo_copy, table) == rows(demo_build.warehouse, table)


def test_a_subreddit_that_leaves_records_its_communities_as_vanished(demo_build, demo_copy):
    """Its raw rows removed: its communities vanish (recorded, not live), the other scopes are
    reused unchanged and their noise members stay unassigned."""
    # denser cores than the default leave a few members as noise (see test_communities.py)
    config = with_communities(demo_build.config, min_samples=20, centre=False, bond_weight=0.0)
    demo.run(demo_copy, config, "communities")
    before = Path(shutil.copy(demo_copy, demo_copy.with_name("before.duckdb")))
    noise = dict(
        demo.read(
            before, "select scope, count(*) - count(community_id) from memberships group by 1"
        )
    )
    gone = min(noise, key=lambda s: (noise[s], s))  # keep the scopes that have noise
    assert sum(noise.values()) - noise[gone] > 0
    with warehouse.connect(demo_copy) as con:
        for table in ("raw_comments", "raw_submissions"):
            con.execute(f"delete from {table} where lower(subreddit) = ?", [gone])
    results, calls = build_on(demo_copy, config, "staging", *COMMUNITY_STAGES)
    assert calls == [] and results["embeddings"].counts("texts").computed == 0
    result = results["communities"]
    assert result.details["scopes_clustered"] == []
    assert result.details["scopes_reused"] == sorted(set(noise) - {gone})
    theirs = {
        c
        for (c,) in demo.read(
            before,
            f"select community_id from communities where scope = '{gone}' "
            "and level = 'sub' and published",  # forums are never matched, so never in lineage
        )
    }
    lineage = demo.read(demo_copy, "select community_id, status from community_lineage")
    assert {c for c, s in lineage if s == "vanished"} == theirs
    subs = "select community_id from communities where level = 'sub' and published"
    live = {c for (c,) in demo.read(demo_copy, subs)}
    assert demo.read(demo_copy, f"select count(*) from communities where scope = '{gone}'") == [
        (0,)
    ]
    assert live.isdisjoint(theirs)
    assert {c for c, s in lineage if s == "kept"} == live
    assert result.details["lineage"] == {"kept": len(live), "vanished": len(theirs)}
    others = f"scope <> '{gone}'"
    assert rows(demo_copy, "memberships") == rows(before, "memberships", others)  # noise too
    assert dict(result.dropped) == {"noise": sum(noise.values()) - noise[gone]}
