"""Embeddings → members → communities on the demo forum, checked against its planted truth.

The forum (month 1) is embedded once per module with the real offline model; rebuilds run on
copies of that warehouse, so only the texts they add are embedded again.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

import warehouse
from communitybench import communities as stage
from communitybench import embeddings, stages
from communitybench.config import BuildConfig
from communitybench.embeddings import vectors_from_arrow
from transforms.communities import assign_communities

SEED = 7
CONFIG = BuildConfig()  # the demo defaults: offline MiniLM, hdbscan, scope subreddit


def ingest(wh: Path, files: list[Path]) -> None:
    stages.ingest_and_stage(wh, files)


def build(wh: Path, config: BuildConfig = CONFIG) -> tuple[dict, list[int]]:
    """build_all, returning the summary and the size of every encode call it made."""
    calls: list[int] = []
    real = embeddings.encode_texts

    def counting(encoder, texts, *, batch_size):
        calls.append(len(texts))
        return real(encoder, texts, batch_size=batch_size)

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the public dev pseudonym key warns (demo only)
        mp.setattr(embeddings, "encode_texts", counting)
        summary = stage.build_all(wh, config, progress=False)
    return summary, calls


_SHARED: dict = {}  # built once per session; tests/test_community_reuse.py uses it too


def shared_forum(tmp_path_factory) -> Path:
    """The two-month demo forum, written once per test session."""
    if "forum" not in _SHARED:
        from communitybench.sources.demo.forum import write_demo_forum

        out = tmp_path_factory.mktemp("forum")
        write_demo_forum(out, seed=SEED, months=2)
        _SHARED["forum"] = out
    return _SHARED["forum"]


def shared_first(tmp_path_factory) -> dict:
    """Month 1 ingested and built once per session; tests that write work on copies of ``wh``."""
    if "first" not in _SHARED:
        forum = shared_forum(tmp_path_factory)
        wh = tmp_path_factory.mktemp("first") / "wh.duckdb"
        ingest(wh, [forum / "RS_2026-01.zst", forum / "RC_2026-01.zst"])
        summary, calls = build(wh)
        _SHARED["first"] = {"wh": wh, "summary": summary, "calls": calls, "forum": forum}
    return _SHARED["first"]


@pytest.fixture(scope="module")
def forum(tmp_path_factory) -> Path:
    return shared_forum(tmp_path_factory)


@pytest.fixture(scope="module")
def first(forum, tmp_path_factory) -> dict:
    return shared_first(tmp_path_factory)


@pytest.fixture(scope="module")
def truth(forum) -> dict:
    return json.loads((forum / "truth.json").read_text())


def copy_of(wh: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copy(wh, target)
    return target


def found_vs_planted(wh: Path, truth: dict) -> pl.DataFrame:
    """author, planted community and found community (noise → a singleton label)."""
    with warehouse.connect(wh, read_only=True) as con:
        rows = con.sql(
            "select m.author, coalesce(ms.community_id, 'noise:' || m.member_id) as found "
            "from members as m join memberships as ms using (member_id, scope) order by 1"
        ).pl()
    return rows.with_columns(planted=rows["author"].replace_strict(truth["members"]))


def test_communities_recover_the_planted_ones(first, truth):
    rows = found_vs_planted(first["wh"], truth)
    ari = adjusted_rand_score(rows["planted"], rows["found"])
    summary = first["summary"]["communities"]
    print(f"ARI {ari:.3f}, noise share {summary['noise_share']:.3f}")
    assert ari >= 0.9
    assert summary["noise_share"] <= 0.05  # reported, and bounded
    assert summary["communities"] == len(truth["communities"])
    assert summary["members"] == rows.height == len(truth["members"])


def test_tables_follow_the_contracts(first):
    with warehouse.connect(first["wh"], read_only=True) as con:
        kept = con.sql(
            "select (select count(*) from stg_comments where drop_reason is null)"
            " + (select count(*) from stg_submissions where drop_reason is null)"
        ).fetchall()[0][0]
        texts = con.sql("select count(*), count(distinct text_hash) from texts").fetchall()[0]
        emb = con.sql("select count(*), min(dim), max(dim), any_value(model) from embeddings")
        members = con.sql("select min(n_texts), count(*) from members").fetchall()[0]
        communities = con.sql("select * from communities").pl()
        lineage = con.sql("select status, count(*) from community_lineage group by 1").fetchall()
        emb = emb.fetchall()[0]
    assert texts[0] == kept
    assert emb == (texts[1], 384, 384, CONFIG.embed.model)
    assert members[0] >= CONFIG.members.min_texts
    assert communities["size"].sum() + first["summary"]["communities"]["noise"] == members[1]
    assert communities["centroid"].list.len().unique().to_list() == [384]
    assert communities["persistence"].is_between(0, 1).all()
    params = json.loads(communities["params"][0])
    assert params["revision"] == CONFIG.embed.revision and params["pca_dim_used"] == 30
    assert lineage == [("new", communities.height)]
    assert first["calls"] and sum(first["calls"]) == texts[1]


def test_rebuild_on_same_data_embeds_nothing_and_keeps_every_id(first, tmp_path):
    wh = copy_of(first["wh"], tmp_path)
    summary, calls = build(wh)
    assert calls == []  # the encoder was never called
    assert summary["embeddings"]["computed"] == 0
    assert summary["embeddings"]["cached"] == summary["embeddings"]["texts"]
    with warehouse.connect(first["wh"], read_only=True) as con:
        before = con.sql("select * from memberships order by member_id").fetchall()
    with warehouse.connect(wh, read_only=True) as con:
        after = con.sql("select * from memberships order by member_id").fetchall()
        lineage = con.sql("select distinct status, jaccard from community_lineage").fetchall()
    assert after == before  # identical input, identical ids
    assert lineage == [("kept", 1.0)]


def majority(rows: pl.DataFrame) -> dict[str, str]:
    """planted community → the found community id holding most of its members."""
    out = {}
    for (planted,), part in rows.group_by("planted"):
        found, _ = Counter(part["found"]).most_common(1)[0]
        out[planted] = found
    return out


def test_rebuild_with_more_data_keeps_community_ids(first, forum, truth, tmp_path):
    wh = copy_of(first["wh"], tmp_path)
    ingest(wh, [forum / "RS_2026-02.zst", forum / "RC_2026-02.zst"])
    summary, calls = build(wh)
    emb = summary["embeddings"]
    assert 0 < emb["computed"] < 0.2 * emb["texts"]  # only month 2's new texts
    assert sum(calls) == emb["computed"]
    before = majority(found_vs_planted(first["wh"], truth))
    after_rows = found_vs_planted(wh, truth)
    after = majority(after_rows)
    # the demo's planted membership does not change between months
    kept = sum(before[c] == after[c] for c in truth["communities"])
    assert kept >= 0.9 * len(truth["communities"])
    assert adjusted_rand_score(after_rows["planted"], after_rows["found"]) >= 0.9
    assert summary["communities"]["lineage"].get("kept", 0) >= kept


def test_hdbscan_and_fast_hdbscan_agree(first):
    with warehouse.connect(first["wh"], read_only=True) as con:
        table = con.sql("select member_id, scope, vector from members order by scope, member_id")
        table = table.to_arrow_table()
    members = pl.from_arrow(table.drop(["vector"]))
    vectors = vectors_from_arrow(table["vector"])
    labels = {}
    for backend in ("hdbscan", "fast_hdbscan"):
        ms, _, _ = assign_communities(
            members, vectors, backend=backend, pca_dim=30, min_cluster_size=10, min_samples=5
        )
        labels[backend] = ms.select(
            pl.col("community_id").fill_null("noise:" + pl.col("member_id"))
        ).to_series()
    ari = adjusted_rand_score(labels["hdbscan"], labels["fast_hdbscan"])
    print(f"backend parity ARI {ari:.3f}")
    assert ari >= 0.95
    # same partition → same content-hash ids
    assert (labels["hdbscan"] == labels["fast_hdbscan"]).mean() >= 0.95


def test_cli_prints_the_report(first, tmp_path, capsys):
    from types import SimpleNamespace

    from communitybench.cli import Context
    from communitybench.commands.communities import communities

    wh = copy_of(first["wh"], tmp_path)
    config = tmp_path / "demo.toml"
    config.write_text('[communities]\nbackend = "fast_hdbscan"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        communities(SimpleNamespace(obj=Context(config, wh)))
    out = capsys.readouterr().out
    assert "0 computed" in out and "fast_hdbscan" in out and "kept 9" in out
    assert "personalfinance" in out and "noise share" in out


@pytest.mark.slow
def test_flow_builds_and_reports(first, tmp_path, prefect_harness):
    from flows.communities import build_communities

    wh = copy_of(first["wh"], tmp_path)
    summary = build_communities(config=CONFIG, warehouse_path=wh)
    assert summary["embeddings"]["computed"] == 0
    assert summary["communities"]["lineage"] == {"kept": 9}
    assert "noise share" in stage.report_markdown(summary)


def test_noise_members_are_recorded_not_dropped(first):
    with warehouse.connect(first["wh"], read_only=True) as con:
        counts = con.sql(
            "select count(*), count(community_id), min(probability) from memberships"
        ).fetchall()[0]
        members = con.sql("select count(*) from members").fetchall()[0][0]
    assert counts[0] == members  # one row per member, assigned or not
    assert counts[0] - counts[1] == first["summary"]["communities"]["noise"]
    assert np.isfinite(counts[2])


def write_members(wh: Path, vectors: np.ndarray, scopes: list[str]) -> None:
    """A hand-made members table (no embedding needed)."""
    from communitybench.embeddings import vector_column
    from warehouse import replace_tables

    frame = pl.DataFrame(
        {
            "member_id": [f"{i:016x}" for i in range(len(vectors))],
            "author": [f"user{i}" for i in range(len(vectors))],
            "scope": scopes,
            "n_texts": [3] * len(vectors),
        }
    )
    table = frame.to_arrow().append_column("vector", vector_column(vectors))
    with warehouse.connect(wh) as con:
        replace_tables(con, {"members": table})


def test_rebuild_records_vanished_communities_and_keeps_noise_unassigned(tmp_path):
    rng = np.random.default_rng(1)
    centres = np.eye(8)[:3]
    blobs = np.vstack([c + rng.normal(scale=0.05, size=(15, 8)) for c in centres])
    stray = np.array([[0, 0, 0, 0, 0, 0, 0, 1.0]])
    wh = tmp_path / "wh.duckdb"
    kwargs = stage.communities_kwargs(CONFIG)
    write_members(wh, np.vstack([blobs, stray]).astype(np.float32), ["s"] * 46)
    first = stage.run_communities(wh, **kwargs)
    assert first["communities"] == 3 and first["noise"] == 1
    # the third community leaves; the stray member is still noise
    write_members(wh, np.vstack([blobs[:30], stray]).astype(np.float32), ["s"] * 31)
    second = stage.run_communities(wh, **kwargs)
    assert second["lineage"] == {"kept": 2, "vanished": 1}
    with warehouse.connect(wh, read_only=True) as con:
        noise = con.sql("select member_id from memberships where community_id is null").fetchall()
        vanished = con.sql(
            "select community_id from community_lineage where status = 'vanished'"
        ).fetchall()
        live = {r[0] for r in con.sql("select community_id from communities").fetchall()}
    assert noise == [(f"{30:016x}",)]
    assert vanished[0][0] not in live
