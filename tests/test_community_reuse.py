"""Unchanged scopes keep their communities; only changed scopes are clustered again.

The result must equal clustering every scope from scratch (``community_scopes`` dropped), row
for row. Small hand-made members tables check the mechanics; the demo forum (month 1, built
once per session and shared with tests/test_communities_demo.py) checks it on real data.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

import warehouse
from communitybench import communities as stage
from communitybench import embeddings, stages
from communitybench.config import BuildConfig
from tests.test_communities_demo import CONFIG, copy_of, shared_first, write_members
from transforms.communities import scope_fingerprints

KWARGS = stage.communities_kwargs(CONFIG)
TABLES = ("communities", "memberships", "community_lineage")


def blobs(k: int, n: int, *, seed: int, dim: int = 8) -> np.ndarray:
    """k tight clusters of n points around the first k unit vectors."""
    rng = np.random.default_rng(seed)
    return np.vstack([c + rng.normal(scale=0.05, size=(n, dim)) for c in np.eye(dim)[:k]]).astype(
        np.float32
    )


def rows(wh: Path, table: str, where: str = "true") -> list[tuple]:
    """Every row, in the table's stored order (byte-identical means same order too)."""
    with warehouse.connect(wh, read_only=True) as con:
        return con.execute(f"select * from {table} where {where} order by rowid").fetchall()


def from_scratch(wh: Path, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of ``wh`` clustered with no stored fingerprints: every scope clustered."""
    full = tmp_path / "full.duckdb"
    shutil.copy(wh, full)
    with warehouse.connect(full) as con:
        con.execute("drop table community_scopes")
    return full, stage.run_communities(full, **KWARGS)


def test_fingerprint_covers_members_vectors_and_params():
    members = pl.DataFrame({"member_id": ["m2", "m1", "m3"], "scope": ["a", "a", "b"]})
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    base = scope_fingerprints(members, vectors, params={"min_cluster_size": 10})
    # row order does not matter, only which member has which vector
    shuffled = scope_fingerprints(
        members[[1, 0, 2]], vectors[[1, 0, 2]], params={"min_cluster_size": 10}
    )
    assert shuffled == base
    moved = vectors.copy()
    moved[2, 0] += 1e-6
    changed = scope_fingerprints(members, moved, params={"min_cluster_size": 10})
    assert changed["a"] == base["a"] and changed["b"] != base["b"]
    other = scope_fingerprints(members, vectors, params={"min_cluster_size": 11})
    assert other["a"] != base["a"] and other["b"] != base["b"]


def test_only_the_changed_scope_is_clustered_and_the_result_equals_a_full_run(tmp_path):
    wh = tmp_path / "wh.duckdb"
    a, b, c = blobs(3, 15, seed=1), blobs(2, 20, seed=2), blobs(2, 12, seed=3)
    write_members(wh, np.vstack([a, b, c]), ["a"] * 45 + ["b"] * 40 + ["c"] * 24)
    first = stage.run_communities(wh, **KWARGS)
    assert first["scopes_clustered"] == ["a", "b", "c"] and first["scopes_reused"] == []
    before = {t: rows(wh, t, "scope = 'a'") for t in ("communities", "memberships")}
    stored_a = rows(wh, "community_scopes", "scope = 'a'")
    # scope b gains a third cluster, scope c leaves (its members are gone), a is untouched
    grown = np.vstack([b, blobs(3, 20, seed=4)[40:]])
    write_members(wh, np.vstack([a, grown]), ["a"] * 45 + ["b"] * 60)
    full, scratch = from_scratch(wh, tmp_path)
    second = stage.run_communities(wh, **KWARGS)
    assert second["scopes_reused"] == ["a"] and second["scopes_clustered"] == ["b"]
    assert second["lineage"] == scratch["lineage"] == {"kept": 5, "new": 1, "vanished": 2}
    for table in ("communities", "memberships"):
        assert rows(wh, table, "scope = 'a'") == before[table]
    for table in TABLES:
        assert rows(wh, table) == rows(full, table), table
    scopes, scratch_scopes = rows(wh, "community_scopes"), rows(full, "community_scopes")
    assert [r[:4] for r in scopes] == [r[:4] for r in scratch_scopes]  # same fingerprints
    assert [r[0] for r in scopes] == ["a", "b"] and scopes[0] == stored_a[0]  # a: not clustered


def test_a_parameter_change_reclusters_every_scope(tmp_path):
    wh = tmp_path / "wh.duckdb"
    write_members(
        wh, np.vstack([blobs(2, 15, seed=5), blobs(2, 15, seed=6)]), ["a"] * 30 + ["b"] * 30
    )
    stage.run_communities(wh, **KWARGS)
    again = stage.run_communities(wh, **KWARGS)
    assert again["scopes_reused"] == ["a", "b"] and again["scopes_clustered"] == []
    assert again["lineage"] == {"kept": 4}
    prints = dict(r[:2] for r in rows(wh, "community_scopes"))
    changed = stage.run_communities(wh, **{**KWARGS, "min_cluster_size": 12})
    assert changed["scopes_reused"] == [] and changed["scopes_clustered"] == ["a", "b"]
    assert changed["lineage"] == {"kept": 4}  # same partition, ids matched again
    after = dict(r[:2] for r in rows(wh, "community_scopes"))
    assert set(after) == set(prints) and all(after[s] != prints[s] for s in prints)


def test_stored_rows_that_no_longer_add_up_are_not_reused(tmp_path):
    wh = tmp_path / "wh.duckdb"
    write_members(
        wh, np.vstack([blobs(2, 15, seed=5), blobs(2, 15, seed=6)]), ["a"] * 30 + ["b"] * 30
    )
    stage.run_communities(wh, **KWARGS)
    with warehouse.connect(wh) as con:
        con.execute("delete from memberships where rowid = (select max(rowid) from memberships)")
    again = stage.run_communities(wh, **KWARGS)
    assert again["scopes_reused"] == ["a"] and again["scopes_clustered"] == ["b"]
    assert again["members"] == 60


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> dict:
    return shared_first(tmp_path_factory)


def partition(wh: Path) -> pl.DataFrame:
    with warehouse.connect(wh, read_only=True) as con:
        return con.sql(
            "select member_id, scope, coalesce(community_id, 'noise:' || member_id) as found "
            "from memberships order by scope, member_id"
        ).pl()


def test_new_data_in_one_subreddit_reclusters_only_that_subreddit(first, tmp_path):
    """Month 2 filtered to the smallest subreddit: the other subreddits keep their rows."""
    wh = copy_of(first["wh"], tmp_path)
    per_scope = {s["scope"]: s["members"] for s in first["summary"]["communities"]["scopes"]}
    touched = min(per_scope, key=per_scope.get)
    month2 = [first["forum"] / "RS_2026-02.zst", first["forum"] / "RC_2026-02.zst"]
    stages.ingest_and_stage(wh, month2, config=BuildConfig(filters={"subreddits": [touched]}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the public dev pseudonym key warns (demo only)
        stage.run_texts(wh)
        emb = embeddings.run_embeddings(wh, **stage.embed_kwargs(CONFIG), progress=False)
        stage.run_members(wh, **stage.members_kwargs(CONFIG))
    assert emb["computed"] > 0
    full, scratch = from_scratch(wh, tmp_path)
    summary = stage.run_communities(wh, **KWARGS)

    assert summary["scopes_clustered"] == [touched]
    assert summary["scopes_reused"] == sorted(set(per_scope) - {touched})
    untouched = f"scope <> '{touched}'"
    for table in ("communities", "memberships"):
        assert rows(wh, table, untouched) == rows(first["wh"], table, untouched), table
    # the touched subreddit was clustered again: it has new activity from its members
    assert rows(wh, "memberships", f"scope = '{touched}'") != rows(
        first["wh"], "memberships", f"scope = '{touched}'"
    )
    # identical to clustering every subreddit from scratch: rows, partition and ids
    for table in TABLES:
        assert rows(wh, table) == rows(full, table), table
    assert summary["lineage"] == scratch["lineage"]
    a, b = partition(wh), partition(full)
    assert adjusted_rand_score(a["found"], b["found"]) == 1.0
    assert a.equals(b)
