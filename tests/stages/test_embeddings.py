"""Stage ``embeddings``: every distinct cleaned text gets one vector, cached across rebuilds, on
whichever task runner the flow has (this process, a local thread, Dask workers).

The session's demo build embedded every text in this process (``pipeline.execute`` outside a
flow): those vectors are the reference. The runner tests take a copy of it whose cache lacks
``N_TEXTS`` vectors and run the stage through the one execution path (``flows.pipeline.run``)
on each runner; the vectors must agree within float tolerance (chunking only changes the
padding inside a batch), and only this process writes the warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import warehouse
from communitybench import pipeline, runner
from communitybench.config import RunnerConfig
from communitybench.inference import encoder
from communitybench.runner import ParallelTaskError
from communitybench.stages import embeddings
from flows import pipeline as flow
from tests.fixtures import demo
from tests.fixtures.communities import count_encode_calls
from tests.fixtures.contracts import contract_violations
from transforms.vectors import vectors_from_arrow

N_TEXTS = 200  # texts to embed on a runner: several chunks per worker, quick on 2 cores
CHUNK = N_TEXTS // 4  # the failure test runs 4 chunks; the third one fails


def distinct_texts(wh: Path) -> int:
    return demo.read(wh, "select count(distinct text_hash) from texts where clean_text <> ''")[0][0]


def vectors(wh: Path, hashes: list[str] | None = None) -> dict[str, np.ndarray]:
    """text_hash → vector from the cache (all, or those of ``hashes``)."""
    with warehouse.connect(wh, read_only=True) as con:
        table = con.table("embeddings")
        if hashes is not None:
            table = table.filter(f"text_hash in ({', '.join(repr(h) for h in hashes)})")
        table = table.order("text_hash").select("text_hash, vector").to_arrow_table()
    return dict(
        zip(table["text_hash"].to_pylist(), vectors_from_arrow(table["vector"]), strict=True)
    )


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert got.keys() == want.keys()
    a = np.stack([got[h] for h in sorted(want)])
    b = np.stack([want[h] for h in sorted(want)])
    assert a.shape == (len(want), 384)
    assert np.abs(a - b).max() < 1e-4
    assert (a * b).sum(axis=1).min() > 0.9999  # unit vectors: cosine


@pytest.fixture(scope="module")
def uncached(demo_build, tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """A copy of the demo build whose cache lacks the first N_TEXTS vectors (by hash), and
    those vectors as the in-process build computed them."""
    wh = demo_build.copy(tmp_path_factory.mktemp("uncached") / "wh.duckdb")
    with warehouse.connect(wh) as con:
        first = con.table("embeddings").order("text_hash").limit(N_TEXTS).select("text_hash")
        hashes = [h for (h,) in first.fetchall()]
        con.execute("delete from embeddings where text_hash in ?", [hashes])
    return wh, vectors(demo_build.warehouse, hashes)


def on_runner(demo_build, wh: Path, runner_config: RunnerConfig):
    """The embeddings stage through the flow on ``runner_config`` (CPU: as on any worker)."""
    base = demo_build.config
    config = base.model_copy(
        update={"runner": runner_config, "embed": base.embed.model_copy(update={"device": "cpu"})}
    )
    results, _ = flow.run(config, wh, ["embeddings"])
    [result] = results
    return result


def counted(result) -> tuple[int, int]:
    work = result.counts("texts")
    return work.computed, work.reused


def test_a_fresh_build_embeds_every_distinct_text_once(demo_build):
    wh, config = demo_build.warehouse, demo_build.config
    total = distinct_texts(wh)
    result = demo_build.results["embeddings"]
    assert (result.name, result.version) == ("embeddings", embeddings.EMBEDDINGS_VERSION)
    assert counted(result) == (total, 0)
    assert dict(result.rows) == {"embeddings": total}
    assert result.details["device"] == encoder.resolve_device(config.embed.device)
    assert result.details["runner"] == "local"  # no flow: the chunks ran in this process
    [(rows, hashes, dims, models)] = demo.read(
        wh,
        "select count(*), count(distinct text_hash), list(distinct dim), list(distinct model)"
        " || list(distinct revision) from embeddings",
    )
    assert (rows, hashes, dims) == (total, total, [384])
    assert models == [config.embed.model, config.embed.revision]
    missing = demo.read(
        wh,
        "select count(*) from texts where clean_text <> '' and text_hash not in "
        "(select text_hash from embeddings)",
    )
    assert missing == [(0,)]
    norms = np.linalg.norm(np.stack(list(vectors(wh).values())), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    with warehouse.connect(wh, read_only=True) as con:
        assert contract_violations(con, "embeddings") == []


def test_a_rerun_loads_no_model_and_encodes_nothing(demo_build, demo_copy, monkeypatch):
    calls = count_encode_calls(monkeypatch)
    result = demo.run(demo_copy, demo_build.config, "embeddings")["embeddings"]
    total = distinct_texts(demo_copy)
    assert calls == []
    assert counted(result) == (0, total) and dict(result.rows) == {"embeddings": 0}
    assert result.details["device"] is None and "not loaded" in result.notes[0]
    assert demo.read(demo_copy, "select count(*) from embeddings") == [(total,)]
    carried = pipeline.carry(embeddings.STAGE, demo_build.config, demo_copy, previous="v0001")
    assert [(w.unit, w.computed, w.reused) for w in carried.work] == [("texts", 0, total)]


def test_local_runner_matches_in_process(
    demo_build, uncached, tmp_path, prefect_harness, monkeypatch
):
    base, reference = uncached
    wh = shutil.copy(base, tmp_path / "local.duckdb")
    calls = count_encode_calls(monkeypatch)  # the thread runner shares this process
    result = on_runner(demo_build, wh, RunnerConfig(kind="local", embed_chunk=75))  # 3 chunks
    assert counted(result) == (N_TEXTS, distinct_texts(wh) - N_TEXTS)
    assert result.details["runner"] == "local"
    assert calls == [75, 75, N_TEXTS - 150]  # one encode call per chunk, in this process
    assert_same(vectors(wh, list(reference)), reference)


def test_dask_scheduler_matches_in_process_and_uses_both_workers(
    demo_build, uncached, tmp_path, prefect_harness, dask_scheduler, monkeypatch
):
    from distributed import Client

    base, reference = uncached
    wh = shutil.copy(base, tmp_path / "dask.duckdb")
    total = distinct_texts(wh)
    on_dask = RunnerConfig(kind="dask", address=dask_scheduler, embed_chunk=N_TEXTS // 8)
    result = on_runner(demo_build, wh, on_dask)
    assert counted(result) == (N_TEXTS, total - N_TEXTS)
    assert result.details["runner"] == f"dask scheduler {dask_scheduler}"
    assert_same(vectors(wh, list(reference)), reference)
    with Client(dask_scheduler) as client:
        loaded = client.run(lambda: encoder.load_encoder.cache_info().currsize)
    assert len(loaded) == 2 and all(n >= 1 for n in loaded.values()), loaded

    # a second run finds every vector cached: nothing is submitted, nothing written twice
    submitted = []
    real = runner.map_ordered
    monkeypatch.setattr(
        runner, "map_ordered", lambda fn, *a, **kw: submitted.append(fn) or real(fn, *a, **kw)
    )
    again = on_runner(demo_build, wh, on_dask)
    assert submitted == [] and counted(again) == (0, total)
    assert demo.read(wh, "select count(*), count(distinct text_hash) from embeddings") == [
        (total, total)
    ]


def test_dask_failed_chunk_keeps_finished_chunks(
    demo_build, uncached, tmp_path, prefect_harness, dask_scheduler, monkeypatch
):
    """A chunk that fails on a worker fails the stage; chunks written before it stay cached and
    the rerun embeds only the rest."""
    base, _ = uncached
    wh = shutil.copy(base, tmp_path / "fail.duckdb")
    total = distinct_texts(wh)
    on_dask = RunnerConfig(kind="dask", address=dask_scheduler, embed_chunk=CHUNK)
    [(longest,)] = demo.read(
        wh,
        "select text_hash from texts where text_hash not in (select text_hash from embeddings)"
        " order by length(clean_text) desc, text_hash limit 1",
    )
    real = runner.map_ordered

    def poisoned(fn, items, **kwargs):
        # the third chunk cannot be encoded (not strings): it fails on its worker
        chunks = (([None] * len(c)) if i == 2 else c for i, c in enumerate(items))
        return real(fn, chunks, **kwargs)

    monkeypatch.setattr(runner, "map_ordered", poisoned)
    with pytest.raises(ParallelTaskError, match=r"encode_chunk #2 failed"):
        on_runner(demo_build, wh, on_dask)
    monkeypatch.setattr(runner, "map_ordered", real)
    # the two chunks before the failed one (longest texts first) were written
    assert demo.read(wh, "select count(*) from embeddings") == [(total - N_TEXTS + 2 * CHUNK,)]
    assert demo.read(wh, "select count(*) from embeddings where text_hash = ?", [longest]) == [(1,)]
    rerun = on_runner(demo_build, wh, on_dask)
    assert counted(rerun) == (N_TEXTS - 2 * CHUNK, total - N_TEXTS + 2 * CHUNK)


@pytest.mark.slow
def test_dask_local_cluster_without_address(demo_build, uncached, tmp_path, prefect_harness):
    """No address: the runner starts (and stops) its own LocalCluster of 2 loopback workers."""
    base, reference = uncached
    wh = shutil.copy(base, tmp_path / "cluster.duckdb")
    result = on_runner(demo_build, wh, RunnerConfig(kind="dask", n_workers=2, embed_chunk=CHUNK))
    assert result.details["runner"] == "dask LocalCluster (2 workers x 1 threads)"
    assert counted(result)[0] == N_TEXTS
    assert_same(vectors(wh, list(reference)), reference)
