"""The embedding stage on each task runner: local (thread) and a real Dask cluster on loopback.

The same texts are embedded in this process with ``run_embeddings`` (the reference) and by the
``embed_texts`` flow on the configured runner; vectors must agree within float tolerance
(chunking changes padding inside a batch, nothing else), and the Dask run must have used both
worker processes (each loaded the model) while the warehouse was written only by this process.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import warehouse
from communitybench import embeddings, stages
from communitybench.config import BuildConfig, RunnerConfig
from communitybench.embeddings import vectors_from_arrow
from communitybench.runner import ParallelTaskError

N_TEXTS = 400  # distinct texts: enough for several chunks, small enough for 2 cores


@pytest.fixture(scope="module")
def texts_warehouse(tmp_path_factory) -> Path:
    """A warehouse with the demo forum's ``texts`` (first N_TEXTS hashes) and no vectors."""
    from communitybench.sources.demo.forum import write_demo_forum

    folder = tmp_path_factory.mktemp("embed-runner")
    write_demo_forum(folder / "forum", seed=11, scale=0.3)
    wh = folder / "texts.duckdb"
    stages.ingest_and_stage(wh, sorted((folder / "forum").glob("R*_*.zst")))
    embeddings.run_texts(wh)
    with warehouse.connect(wh) as con:
        con.execute(
            "delete from texts where text_hash not in (select distinct text_hash from texts "
            "where clean_text <> '' order by text_hash limit ?)",
            [N_TEXTS],
        )
    return wh


@pytest.fixture(scope="module")
def reference(texts_warehouse, tmp_path_factory) -> dict[str, np.ndarray]:
    """text_hash → vector, embedded in this process without Prefect."""
    wh = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    shutil.copy(texts_warehouse, wh)
    summary = embeddings.run_embeddings(wh, **_embed_kwargs(), progress=False)
    assert summary["computed"] == N_TEXTS
    return _vectors(wh)


def _embed_kwargs() -> dict:
    from communitybench.communities import embed_kwargs

    return embed_kwargs(BuildConfig()) | {"device": "cpu"}


def _vectors(wh: Path) -> dict[str, np.ndarray]:
    with warehouse.connect(wh, read_only=True) as con:
        table = con.sql(
            "select text_hash, vector from embeddings order by text_hash"
        ).to_arrow_table()
    vectors = vectors_from_arrow(table["vector"])
    return dict(zip(table["text_hash"].to_pylist(), vectors, strict=True))


def _embed_on(runner: RunnerConfig, wh: Path) -> dict:
    from flows.communities import embed_on_runner

    config = BuildConfig().model_copy(
        update={"runner": runner, "embed": BuildConfig().embed.model_copy(update={"device": "cpu"})}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return embed_on_runner(config, wh)


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert got.keys() == want.keys()
    a = np.stack([got[h] for h in sorted(want)])
    b = np.stack([want[h] for h in sorted(want)])
    assert a.shape == (N_TEXTS, 384)
    assert np.abs(a - b).max() < 1e-4
    assert (a * b).sum(axis=1).min() > 0.9999  # unit vectors: cosine


def test_local_runner_matches_in_process(texts_warehouse, reference, tmp_path, prefect_harness):
    wh = tmp_path / "local.duckdb"
    shutil.copy(texts_warehouse, wh)
    summary = _embed_on(RunnerConfig(kind="local", embed_chunk=150), wh)
    assert (summary["computed"], summary["cached"], summary["runner"]) == (N_TEXTS, 0, "local")
    _assert_same(_vectors(wh), reference)


def test_dask_scheduler_matches_local_and_uses_both_workers(
    texts_warehouse, reference, tmp_path, prefect_harness, dask_scheduler
):
    from distributed import Client

    wh = tmp_path / "dask.duckdb"
    shutil.copy(texts_warehouse, wh)
    runner = RunnerConfig(kind="dask", address=dask_scheduler, embed_chunk=50)  # 8 chunks
    summary = _embed_on(runner, wh)
    assert (summary["computed"], summary["cached"]) == (N_TEXTS, 0)
    assert summary["runner"] == f"dask scheduler {dask_scheduler}"
    _assert_same(_vectors(wh), reference)
    with Client(dask_scheduler) as client:
        loaded = client.run(lambda: embeddings.load_encoder.cache_info().currsize)
    assert len(loaded) == 2 and all(n >= 1 for n in loaded.values()), loaded

    # a second run finds every vector cached: nothing is submitted, nothing written twice
    again = _embed_on(runner, wh)
    assert (again["computed"], again["cached"]) == (0, N_TEXTS)
    with warehouse.connect(wh, read_only=True) as con:
        rows, distinct = con.execute(
            "select count(*), count(distinct text_hash) from embeddings"
        ).fetchall()[0]
    assert rows == distinct == N_TEXTS


def test_dask_failed_chunk_keeps_finished_chunks(
    texts_warehouse, tmp_path, prefect_harness, dask_scheduler, monkeypatch
):
    """A chunk that fails on a worker fails the stage; chunks written before it stay cached and
    the rerun embeds only the rest."""
    wh = tmp_path / "fail.duckdb"
    shutil.copy(texts_warehouse, wh)
    runner = RunnerConfig(kind="dask", address=dask_scheduler, embed_chunk=100)  # 4 chunks
    with warehouse.connect(wh) as con:  # a text that cannot be encoded: not a string
        longest = con.execute(
            "select text_hash from texts order by length(clean_text) desc, text_hash limit 1"
        ).fetchall()[0][0]
    real = embeddings.run_embeddings

    def poisoned(*args, encode_chunks, **kwargs):
        def poison(chunks, **encode):
            chunks = list(chunks)
            chunks[2] = [None] * len(chunks[2])  # the third chunk fails on its worker
            return encode_chunks(iter(chunks), **encode)

        return real(*args, encode_chunks=poison, **kwargs)

    monkeypatch.setattr(embeddings, "run_embeddings", poisoned)
    with pytest.raises(ParallelTaskError, match=r"encode_chunk #2 failed"):
        _embed_on(runner, wh)
    monkeypatch.setattr(embeddings, "run_embeddings", real)
    with warehouse.connect(wh, read_only=True) as con:
        kept = con.execute("select count(*) from embeddings").fetchall()[0][0]
        assert con.execute(
            "select count(*) from embeddings where text_hash = ?", [longest]
        ).fetchall()[0][0]
    assert kept == 200  # the two chunks before the failed one (longest first)
    rerun = _embed_on(runner, wh)
    assert (rerun["computed"], rerun["cached"]) == (N_TEXTS - 200, 200)


@pytest.mark.slow
def test_dask_local_cluster_without_address(texts_warehouse, reference, tmp_path, prefect_harness):
    """No address: the runner starts (and stops) its own LocalCluster of 2 loopback workers."""
    wh = tmp_path / "cluster.duckdb"
    shutil.copy(texts_warehouse, wh)
    runner = RunnerConfig(kind="dask", n_workers=2, embed_chunk=100)
    summary = _embed_on(runner, wh)
    assert summary["runner"] == "dask LocalCluster (2 workers x 1 threads)"
    _assert_same(_vectors(wh), reference)
