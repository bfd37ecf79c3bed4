"""Stage ``communities``: HDBSCAN per scope over the member vectors, checked against the demo
forum's planted communities.

The session's demo build ran every stage up to here on month 1 with the real model; tests that
run the stage again (another backend, another setting, the CLI) work on a private copy.
Rebuilds (same data, more data, per-scope reuse) are in ``test_communities_rebuild.py``.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

import warehouse
from communitybench import pipeline
from communitybench.stages import communities
from flows.cli import app
from tests.fixtures import demo
from tests.fixtures.communities import (
    CLUSTER_TABLES,
    drop_tables,
    partition,
    with_communities,
)
from tests.fixtures.contracts import contract_violations
from transforms.communities import COMMUNITIES_VERSION, scope_fingerprints
from transforms.vectors import vectors_from_arrow

TABLES = (*CLUSTER_TABLES, "community_scopes")


def per_scope(wh) -> dict[str, tuple[int, int, int]]:
    """scope → (members, communities, noise) from the memberships table."""
    rows = demo.read(
        wh,
        "select scope, count(*), count(distinct community_id), count(*) - count(community_id) "
        "from memberships group by scope order by scope",
    )
    return {scope: tuple(rest) for scope, *rest in rows}


def test_communities_recover_the_planted_ones(demo_build):
    truth = demo_build.truth
    found = demo.found_vs_planted(demo_build.warehouse, truth)
    ari = adjusted_rand_score(found["planted"], found["found"])
    summary = demo_build.results["communities"].details
    print(f"ARI {ari:.3f}, noise share {summary['noise_share']:.3f}")
    assert ari >= 0.9
    assert summary["noise_share"] <= 0.05  # reported, and bounded
    assert summary["communities"] == len(truth["communities"])
    assert summary["members"] == found.height == len(truth["members"])


def test_tables_follow_the_contracts(demo_build):
    wh, config = demo_build.warehouse, demo_build.config
    with warehouse.connect(wh, read_only=True) as con:
        assert [v for t in TABLES for v in contract_violations(con, t)] == []
        found = con.table("communities").pl()
        members = con.table("members").order("scope, member_id").to_arrow_table()
        memberships = con.table("memberships").pl()
        scopes = con.table("community_scopes").order("scope").pl()
    noise = memberships["community_id"].null_count()
    assert found["size"].sum() + noise == memberships.height == members.num_rows
    assert found["centroid"].list.len().unique().to_list() == [384]
    assert found["persistence"].is_between(0, 1).all()
    assert found["backend"].unique().to_list() == [config.communities.backend]
    vectors = vectors_from_arrow(members["vector"])
    ids = members["member_id"].to_pylist()
    for cid, centroid, params in found.select("community_id", "centroid", "params").iter_rows():
        mine = memberships.filter(pl.col("community_id") == cid)["member_id"].to_list()
        rows = [ids.index(m) for m in mine]
        np.testing.assert_allclose(centroid, vectors[rows].mean(axis=0), atol=1e-6)
        params = json.loads(params)
        assert params["revision"] == config.embed.revision
        limit = min(config.communities.pca_dim, 384, params["scope_members"] - 1)
        assert params["pca_dim_used"] == limit
    lineage = demo.read(wh, "select status, count(*) from community_lineage group by 1")
    assert lineage == [("new", found.height)]  # a first build
    # the stored fingerprints are those of the stored member vectors and settings
    frame = pl.from_arrow(members.drop(["vector"]))
    shaping = communities.Params.from_config(config).shaping()
    prints = scope_fingerprints(
        frame, vectors, params={**shaping, "backend": config.communities.backend}
    )
    assert dict(scopes.select("scope", "fingerprint").iter_rows()) == prints
    counts = per_scope(wh)
    assert {
        s: (m, c) for s, m, c in scopes.select("scope", "members", "communities").iter_rows()
    } == {s: (m, c) for s, (m, c, _) in counts.items()}


def test_result_counts_scopes_communities_and_noise(demo_build, demo_copy):
    counts = per_scope(demo_build.warehouse)
    n_found = sum(c for _, c, _ in counts.values())
    result = demo_build.results["communities"]
    assert (result.name, result.version) == ("communities", COMMUNITIES_VERSION)
    scopes, found = result.counts("scopes"), result.counts("communities")
    assert (scopes.computed, scopes.reused) == (len(counts), 0)
    assert scopes.note == "re-clustered: " + ", ".join(counts)
    assert (found.computed, found.reused) == (n_found, 0)  # every id is new on a first build
    assert dict(result.dropped) == {"noise": sum(n for *_, n in counts.values())}
    members = sum(m for m, _, _ in counts.values())
    assert dict(result.rows) == {
        "communities": n_found,
        "memberships": members,
        "community_lineage": n_found,
        "community_scopes": len(counts),
    }
    [table] = result.tables
    assert [row[:3] for row in table.rows] == [(s, m, c) for s, (m, c, _) in counts.items()]
    carried = pipeline.carry(communities.STAGE, demo_build.config, demo_copy, previous="v0001")
    assert [(w.unit, w.computed, w.reused) for w in carried.work] == [
        ("scopes", 0, len(counts)),
        ("communities", 0, n_found),
    ]


def test_noise_members_are_recorded_not_dropped(demo_build, demo_copy):
    """A setting that leaves some members unassigned: they keep a row, with no community; the
    changed setting re-clusters every scope, and the communities that persist keep their ids."""
    config = with_communities(demo_build.config, min_samples=20)  # denser cores: some noise
    result = demo.run(demo_copy, config, "communities")["communities"]
    counts = per_scope(demo_copy)
    noise = sum(n for *_, n in counts.values())
    assert noise > 0
    assert dict(result.dropped) == {"noise": noise}
    assert result.details["noise_share"] == round(noise / len(demo_build.truth["members"]), 4)
    [(rows, unassigned, p_min, p_max)] = demo.read(
        demo_copy,
        "select count(*), count(*) filter (where community_id is null), min(probability), "
        "max(probability) from memberships",
    )
    assert rows == len(demo_build.truth["members"]) and unassigned == noise
    assert 0 <= p_min <= p_max <= 1
    assert (
        result.details["scopes_clustered"] == sorted(counts) and not result.details["scopes_reused"]
    )
    scopes = "select scope, fingerprint, clustered_at from community_scopes order by scope"
    before, after = demo.read(demo_build.warehouse, scopes), demo.read(demo_copy, scopes)
    assert [r[0] for r in after] == [r[0] for r in before]
    assert all(a[1] != b[1] and a[2] > b[2] for a, b in zip(after, before, strict=True))
    # a few members turned noise: every planted community is still found, under its old id
    assert result.details["lineage"] == {"kept": len(demo_build.truth["communities"])}


def test_hdbscan_and_fast_hdbscan_agree(demo_build, demo_copy):
    """fast_hdbscan (numba, reproducible mode) finds the reference hdbscan's partition: a first
    build with each gives the same content-hash ids."""
    drop_tables(demo_copy, *TABLES)  # a first build: ids are content hashes, nothing matched
    config = with_communities(demo_build.config, backend="fast_hdbscan")
    result = demo.run(demo_copy, config, "communities")["communities"]
    assert result.details["lineage"] == {"new": result.details["communities"]}
    reference, fast = partition(demo_build.warehouse), partition(demo_copy)
    assert reference["member_id"].equals(fast["member_id"])
    ari = adjusted_rand_score(reference["found"], fast["found"])
    print(f"backend parity ARI {ari:.3f}")
    assert ari >= 0.95
    assert (reference["found"] == fast["found"]).mean() >= 0.95  # same partition → same ids
    assert demo.read(demo_copy, "select distinct backend from communities") == [("fast_hdbscan",)]


@pytest.mark.filterwarnings("ignore:COMMUNITYBENCH_PSEUDONYM_KEY is not set")
def test_cli_prints_the_report(demo_build, demo_copy, tmp_path, prefect_harness):
    """``communitybench communities`` runs texts → communities through the flow and prints each
    result: nothing to embed, every scope re-clustered with the new backend, ids kept."""
    config = tmp_path / "configs" / "demo.toml"
    config.parent.mkdir()
    config.write_text(
        '[source]\nkind = "demo"\n\n'
        f"[source.demo]\nout_dir = {json.dumps(str(demo_build.config.source.demo.out_dir))}\n"
        "months = 1\n"
        f"seed = {demo.SEED}\n\n"
        '[communities]\nbackend = "fast_hdbscan"\n'
    )
    args = ["--config", str(config), "--warehouse", str(demo_copy), "communities"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    [(texts,)] = demo.read(
        demo_copy, "select count(distinct text_hash) from texts where clean_text <> ''"
    )
    n_found = len(demo_build.truth["communities"])
    assert f"texts: 0 computed, {texts:,} reused" in out  # the embedding cache held everything
    assert "fast_hdbscan" in out and f"kept {n_found}" in out
    assert "personalfinance" in out and "noise share" in out
    assert demo.read(demo_copy, "select distinct backend from communities") == [("fast_hdbscan",)]
