"""The labels → profiles → task tables stages on the demo forum, against its planted truth.

Communities come from truth.json (the clustering stage is tested on its own) and texts are
embedded with TF-IDF + SVD so the default run stays fast; the slow test at the bottom runs the
real embedding and communities stages instead.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer

import schemas
import warehouse
from communitybench import stages
from communitybench import tasks as stage
from communitybench.config import BuildConfig
from communitybench.settings import Settings
from transforms.labels import jensen_shannon

EMBED_MODEL, EMBED_REVISION = "test-tfidf-svd", "v1"
TABLES = (
    "thread_ownership",
    "option_sets",
    "distributions",
    "profiles",
    "task_pi",
    "task_dp",
    "task_ccg",
    "task_ci",
)


def _ingest(wh: Path, folder: Path) -> None:
    paths = sorted(folder.glob("RS_*.zst")) + sorted(folder.glob("RC_*.zst"))
    stages.ingest_and_stage(wh, paths)


def tfidf_vectors(texts: list[str], dim: int = 48) -> np.ndarray:
    """Cheap deterministic text vectors (a stand-in for the sentence encoder in fast tests)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit_transform(texts)
    vec = TruncatedSVD(dim, random_state=0).fit_transform(tfidf)
    return (vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)).astype("f4")


def write_test_marts(wh: Path, community_of: dict[str, str], *, min_texts: int = 3) -> None:
    """texts, embeddings, members, memberships, communities from a given author → community map."""
    from communitybench.embeddings import run_texts
    from transforms.members import pseudonymize

    run_texts(wh)
    with warehouse.connect(wh) as con:
        texts = con.sql(
            "select item_id, subreddit, author, clean_text, text_hash from texts "
            "where clean_text <> '' order by item_id"
        ).pl()
        vectors = tfidf_vectors(texts["clean_text"].to_list())
        texts = texts.with_columns(pl.Series("vector", list(vectors)))
        emb = texts.unique("text_hash", keep="first").select(
            pl.lit(EMBED_MODEL).alias("model"),
            pl.lit(EMBED_REVISION).alias("revision"),
            "text_hash",
            pl.lit(vectors.shape[1]).alias("dim"),
            "vector",
            pl.lit(datetime(2026, 1, 1)).alias("created_at"),
        )
        known = texts.filter(pl.col("author").is_in(list(community_of)))
        members = (
            known.group_by(["author", "subreddit"])
            .agg(pl.len().alias("n_texts"), pl.col("vector"))
            .filter(pl.col("n_texts") >= min_texts)
            .sort(["subreddit", "author"])
        )
        members = members.with_columns(
            pl.Series("member_id", pseudonymize(members["author"], key="test-key")),
            pl.col("subreddit").alias("scope"),
            pl.Series("vector", [np.mean(np.vstack(v), axis=0) for v in members["vector"]]),
            pl.col("author").replace_strict(community_of).alias("community_id"),
        )
        memberships = members.select(
            "member_id", "scope", "community_id", pl.lit(1.0).alias("probability")
        )
        comms = members.group_by("community_id").agg(
            pl.col("scope").first(), pl.len().alias("size"), pl.col("vector")
        )
        comms = comms.with_columns(
            pl.Series("centroid", [np.mean(np.vstack(v), axis=0) for v in comms["vector"]]),
            pl.lit(None, pl.Float64).alias("persistence"),
            pl.lit("truth").alias("backend"),
            pl.lit("{}").alias("params"),
            pl.lit(1.0).alias("mean_probability"),
        ).sort("community_id")
        for name, frame in (
            ("embeddings", emb),
            ("members", members),
            ("memberships", memberships),
            ("communities", comms),
        ):
            stage.write_table(con, name, frame)


def build_demo(root: Path, *, seed: int, scale: float = 1.0) -> tuple[Path, dict]:
    """Demo forum → staging → test marts from the planted members; returns (warehouse, truth)."""
    from communitybench.sources.demo.forum import write_demo_forum

    folder, wh = root / f"demo{seed}", root / f"wh{seed}.duckdb"
    write_demo_forum(folder, seed=seed, scale=scale)
    _ingest(wh, folder)
    truth = json.loads((folder / "truth.json").read_text())
    write_test_marts(wh, truth["members"])
    return wh, truth


def demo_config() -> BuildConfig:
    return BuildConfig(embed={"model": EMBED_MODEL, "revision": EMBED_REVISION})


def run_all(wh: Path, config: BuildConfig, settings: Settings | None = None) -> dict:
    """The three stages as the build_tasks flow runs them (without Prefect)."""
    from flows.tasks import labels_kwargs, profiles_kwargs, tasks_kwargs

    settings = settings or Settings(llm_base_url=None, llm_model=None)
    return {
        "labels": stage.run_labels(wh, **labels_kwargs(config)),
        "profiles": stage.run_profiles(wh, **profiles_kwargs(config, settings)),
        "tasks": stage.run_task_tables(wh, **tasks_kwargs(config)),
    }


def _planted(truth: dict, thread: str, option_ids: list[str]) -> np.ndarray:
    q = np.array([truth["preferences"][thread][o.removeprefix("t1_")] for o in option_ids])
    return q / q.sum()


def recovery(wh: Path, truth: dict, community_of: dict[str, str] | None = None) -> dict:
    """Owners, favourites and distributions recovered versus planted (ids mapped if given)."""
    name = community_of or {}
    with warehouse.connect(wh, read_only=True) as con:
        owners = con.execute("select thread_id, community_id from thread_ownership where is_owner")
        owners = owners.fetchall()
        dists = con.execute("select thread_id, option_ids, distribution from distributions")
        dists = dists.fetchall()
        pi = con.execute("select thread_id, option_ids, label from task_pi").fetchall()
    planted_owner = truth["thread_owner"]
    agree = [name.get(c, c) == planted_owner.get(t) for t, c in owners]
    jsd = [jensen_shannon(p, _planted(truth, t, ids)) for t, ids, p in dists]
    clear = [
        (np.argmax(q) == label)
        for t, ids, label in pi
        if np.diff(np.sort(q := _planted(truth, t, ids))[-2:])[0] >= 0.1
    ]
    return {
        "owner_agreement": float(np.mean(agree)),
        "owner_recall": sum(agree) / len(planted_owner),
        "mean_jsd": float(np.mean(jsd)),
        "pi_agreement": float(np.mean(clear)),
        "pi_clear": len(clear),
    }


@pytest.fixture(scope="module")
def demo7(tmp_path_factory):
    wh, truth = build_demo(tmp_path_factory.mktemp("demo7"), seed=7)
    summary = run_all(wh, demo_config())
    return wh, truth, summary


def test_recovers_planted_owners_favourites_and_distributions(demo7):
    wh, truth, summary = demo7
    figures = recovery(wh, truth)
    print(f"\nseed 7 recovery: {figures}; instances {summary['tasks']['per_task']}")
    assert figures["owner_agreement"] >= 0.9 and figures["owner_recall"] >= 0.9
    assert figures["mean_jsd"] <= 0.05  # measured 0.0035 (bits) at the demo's vote volume
    assert figures["pi_agreement"] >= 0.9 and figures["pi_clear"] >= 200
    assert summary["labels"]["estimators"] == {"dirichlet_score": summary["labels"]["option_sets"]}


def _check_schema(con, table: str) -> None:
    """The schema file's nullability and checks hold for every row."""
    for col in schemas.load_schema(table).columns:
        bad = [f"{col.name} is null"] if not col.nullable else []
        checks = col.checks
        if "in_set" in checks:
            bad.append(f"{col.name} not in {tuple(checks['in_set'])}")
        if "min" in checks:
            bad.append(f"{col.name} < {checks['min']}")
        if "max" in checks:
            bad.append(f"{col.name} > {checks['max']}")
        if "regex" in checks:
            bad.append(f"not regexp_matches({col.name}, '{checks['regex']}')")
        for condition in bad:
            n = con.execute(f"select count(*) from {table} where {condition}").fetchone()[0]
            assert n == 0, f"{table}: {n} rows where {condition}"


def test_task_tables_keep_their_contracts(demo7):
    wh, truth, summary = demo7
    counts = summary["tasks"]["per_task"]
    assert all(counts[t] > 300 for t in ("pi", "dp", "ccg", "ci")), counts
    assert len(summary["tasks"]["per_community"]) == len(truth["communities"])
    with warehouse.connect(wh, read_only=True) as con:
        for table in TABLES:
            _check_schema(con, table)
            keys = ", ".join(schemas.load_schema(table).key)
            assert con.execute(
                f"select count(*) - count(distinct ({keys})) from {table}"
            ).fetchone() == (0,)
        sums = con.execute(
            "select min(list_sum(distribution)), max(list_sum(distribution)) from task_dp"
        ).fetchone()
        assert sums == pytest.approx((1.0, 1.0))
        ci = con.execute("select community_id, candidate_ids, label from task_ci").fetchall()
        texts = con.execute(
            "with o as (select unnest(option_ids) as id, unnest(option_texts) as body "
            "from task_pi) select count(*) from o join stg_comments c on 't1_' || c.id = o.id "
            "where c.body <> o.body"
        ).fetchone()
    assert texts == (0,)
    for community, candidates, label in ci:
        assert candidates.count(community) == 1 and candidates[label] == community
        assert len(candidates) == 4


def test_exports_carry_no_usernames(demo7):
    wh, truth, _ = demo7
    with warehouse.connect(wh, read_only=True) as con:
        for table in ("profiles", *TABLES[-4:]):
            blob = json.dumps(con.execute(f"select * from {table}").fetchall(), default=str)
            blob = blob.lower()
            assert not [name for name in truth["members"] if name.lower() in blob], table


def _app(obj):
    """A one-command app with the real command (cli.py registers it the same way)."""
    from communitybench.commands.tasks import tasks

    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = obj

    app.command("tasks")(tasks)
    return app


def test_cli_rebuild_prints_counts_and_is_deterministic(demo7, tmp_path):
    from typer.testing import CliRunner

    from communitybench.cli import Context

    config = tmp_path / "configs" / "t.toml"
    config.parent.mkdir()
    config.write_text(f'[embed]\nmodel = "{EMBED_MODEL}"\nrevision = "{EMBED_REVISION}"\n')
    copy = tmp_path / "cli.duckdb"
    shutil.copy(demo7[0], copy)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(_app(Context(config, copy)), ["tasks"])
    assert result.exit_code == 0, result.output
    owned = demo7[2]["labels"]["owned_threads"]
    assert f"owned threads: {owned:,}" in result.output and "extractive because" in result.output
    assert f"{demo7[2]['tasks']['per_task']['ci']:,}" in result.output
    for table in TABLES[-4:]:
        query = f"select instance_id from {table} order by 1"
        with warehouse.connect(demo7[0], read_only=True) as a, warehouse.connect(copy) as b:
            assert a.execute(query).fetchall() == b.execute(query).fetchall()
    failed = CliRunner().invoke(_app(Context(config, tmp_path / "empty.duckdb")), ["tasks"])
    assert failed.exit_code == 2 and "communities stages first" in failed.output


def test_build_tasks_flow(demo7, tmp_path, prefect_harness):
    from flows.tasks import build_tasks

    copy = tmp_path / "flow.duckdb"
    shutil.copy(demo7[0], copy)
    summary = build_tasks(config=demo_config(), warehouse_path=copy)
    assert summary["tasks"]["per_task"] == demo7[2]["tasks"]["per_task"]
    assert summary["profiles"]["profile_method"] == {"extractive": len(demo7[1]["communities"])}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 23])
def test_recovery_on_unseen_seeds(tmp_path, seed):
    wh, truth = build_demo(tmp_path, seed=seed)
    run_all(wh, demo_config())
    figures = recovery(wh, truth)
    print(f"\nseed {seed} recovery: {figures}")
    assert figures["owner_agreement"] >= 0.9 and figures["owner_recall"] >= 0.9
    assert figures["mean_jsd"] <= 0.05 and figures["pi_agreement"] >= 0.9


@pytest.mark.slow
def test_end_to_end_through_the_real_communities_stage(tmp_path):
    """Real embeddings (all-MiniLM-L6-v2) and HDBSCAN communities, then this stage."""
    from communitybench.communities import build_all
    from communitybench.sources.demo.forum import write_demo_forum

    write_demo_forum(tmp_path / "demo", seed=5, scale=0.3)
    wh = tmp_path / "wh.duckdb"
    _ingest(wh, tmp_path / "demo")
    config = BuildConfig()
    build_all(wh, config, progress=False)
    summary = run_all(wh, config)
    truth = json.loads((tmp_path / "demo" / "truth.json").read_text())
    with warehouse.connect(wh, read_only=True) as con:
        found = con.execute(
            "select ms.community_id, m.author from memberships ms join members m "
            "using (member_id, scope) where ms.community_id is not null"
        ).fetchall()
    votes: dict[str, list[str]] = {}
    for community, author in found:
        votes.setdefault(community, []).append(truth["members"][author])
    planted_of = {c: max(set(v), key=v.count) for c, v in votes.items()}
    figures = recovery(wh, truth, planted_of)
    print(f"\nend to end (seed 5, scale 0.3): {figures}; {summary['tasks']['per_task']}")
    assert figures["owner_agreement"] >= 0.9 and figures["owner_recall"] >= 0.8
    assert figures["mean_jsd"] <= 0.05 and figures["pi_agreement"] >= 0.9
