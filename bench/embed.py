"""Embedding throughput: the embed stage vs bare ``SentenceTransformer.encode``, same texts.

Builds the demo forum's ``texts`` table (generate → ingest → staging → texts), then times
1. bare ``encode(texts, batch_size)`` on the distinct cleaned texts (the baseline),
2. the ``embeddings`` stage (``pipeline.execute``) on an empty cache: read misses, encode
   longest first, Arrow inserts,
3. the stage again: everything cached,
with the model loaded once beforehand for both. Prints texts/s and the ratio stage/bare
(target >= 0.9), by wall clock and by process CPU time (the steadier figure on a machine
shared with other jobs; ``--cpu-threads 1`` steadies it further). Rounds alternate the order.
``--runner local|dask`` then also times the stage through the ``run_stages`` flow (what
``build_release`` runs: chunks as Prefect tasks on that task runner; ``dask`` = a LocalCluster
of ``--workers`` processes, each loading the model) against the same bare baseline, by wall
clock.

    .venv/bin/python bench/embed.py [--scale 1.0] [--limit N] [--batch-size 32] [--rounds 1]
        [--cpu-threads 0] [--runner local|dask] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import communitybench  # noqa: F401  (offline defaults)
import warehouse
from communitybench import pipeline
from communitybench.config import BuildConfig, EmbedConfig
from communitybench.inference.encoder import load_encoder, resolve_device


def demo_texts(folder: Path, *, scale: float, limit: int | None) -> Path:
    """A warehouse holding the demo forum's texts table (optionally its first `limit` texts)."""
    from communitybench.sources.demo.forum import write_demo_forum

    write_demo_forum(folder / "forum", seed=7, scale=scale)
    wh = folder / "bench.duckdb"
    config = BuildConfig(source={"kind": "demo", "demo": {"out_dir": folder / "forum"}})
    for name in ("ingest", "staging", "texts"):
        pipeline.execute(pipeline.stage(name), config, wh)
    if limit:
        with warehouse.connect(wh) as con:
            con.execute(
                "delete from texts where text_hash not in "
                "(select distinct text_hash from texts order by text_hash limit ?)",
                [limit],
            )
    return wh


def distinct_texts(wh: Path) -> list[str]:
    with warehouse.connect(wh, read_only=True) as con:
        rows = con.sql(
            "select any_value(clean_text) from texts where clean_text <> '' group by text_hash"
        ).fetchall()
    return [r[0] for r in rows]


def time_stage(wh: Path, cfg: EmbedConfig) -> tuple[float, dict]:
    """Wall seconds and details of the embeddings stage as a build runs it (no Prefect)."""
    started = time.perf_counter()
    result = pipeline.execute(pipeline.stage("embeddings"), BuildConfig(embed=cfg), wh)
    return time.perf_counter() - started, dict(result.details)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo forum size (1.0 ≈ 4.2k)")
    parser.add_argument("--limit", type=int, default=None, help="embed only this many texts")
    parser.add_argument("--batch-size", type=int, default=EmbedConfig().batch_size)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cpu-threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--runner", choices=["local", "dask"], default=None)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (dask)")
    args = parser.parse_args()
    if args.cpu_threads:
        import torch

        torch.set_num_threads(args.cpu_threads)  # the same for the baseline and the stage
    cfg = EmbedConfig(batch_size=args.batch_size)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        wh = demo_texts(Path(tmp), scale=args.scale, limit=args.limit)
        texts = distinct_texts(wh)
        device = resolve_device(cfg.device)
        started = time.perf_counter()
        encoder = load_encoder(cfg.model, cfg.revision, device)
        print(f"model load {time.perf_counter() - started:.1f} s on {device}; {len(texts):,} texts")
        encoder.encode(texts[:64], batch_size=args.batch_size)  # warm-up (allocations, kernels)
        for round_no in range(1, args.rounds + 1):
            # alternate the order so neither side always runs on a warmer (or busier) machine
            order = ("bare", "stage") if round_no % 2 else ("stage", "bare")
            runs = {name: measure(name, encoder, texts, wh, cfg) for name in order}
            (bare_wall, bare_cpu), (stage_wall, stage_cpu) = runs["bare"], runs["stage"]
            warm_s, again = time_stage(wh, cfg)
            assert again["computed"] == 0, again
            n = len(texts)
            print(
                f"round {round_no}: texts/s wall: bare {n / bare_wall:,.1f}, stage "
                f"{n / stage_wall:,.1f}, ratio {bare_wall / stage_wall:.3f} | texts/s CPU time: "
                f"bare {n / bare_cpu:,.1f}, stage {n / stage_cpu:,.1f}, ratio "
                f"{bare_cpu / stage_cpu:.3f} (target >= 0.9) | cached rerun {warm_s:.2f} s "
                f"for {again['cached']:,} texts"
            )
        if args.runner:
            flow_wall, summary = time_flow(wh, cfg, args.runner, args.workers, args.cpu_threads)
            bare_wall, _ = measure("bare", encoder, texts, wh, cfg)  # right after, same load
            print(
                f"run_stages flow on {summary['runner']}: {len(texts) / flow_wall:,.1f} texts/s "
                f"wall, bare {len(texts) / bare_wall:,.1f}, ratio bare/flow "
                f"{bare_wall / flow_wall:.3f}"
            )


def time_flow(wh: Path, cfg: EmbedConfig, kind: str, workers: int, cpu_threads: int):
    """Wall seconds of the stage in the run_stages flow on a cold cache (Prefect's API started
    before)."""
    from prefect import flow

    from communitybench.config import RunnerConfig
    from flows.pipeline import run

    flow(lambda: None, name="warm-up")()  # start the ephemeral Prefect API outside the timing
    runner = RunnerConfig(kind=kind, n_workers=workers, threads_per_worker=1)
    embed = cfg.model_copy(update={"cpu_threads": cpu_threads})
    config = BuildConfig().model_copy(update={"runner": runner, "embed": embed})
    with warehouse.connect(wh) as con:
        con.execute("drop table if exists embeddings")
    started = time.perf_counter()
    results, _ = run(config, wh, ["embeddings"])
    summary = dict(results[0].details)
    assert summary["computed"] > 0, summary
    return time.perf_counter() - started, summary


def measure(name: str, encoder, texts: list[str], wh: Path, cfg: EmbedConfig) -> tuple:
    """(wall s, process CPU s) of bare encode or of the stage on a cold cache."""
    if name == "stage":
        with warehouse.connect(wh) as con:
            con.execute("drop table if exists embeddings")  # a cold cache every round
    wall, cpu = time.perf_counter(), time.process_time()
    if name == "bare":
        encoder.encode(texts, batch_size=cfg.batch_size, show_progress_bar=False)
    else:
        _, summary = time_stage(wh, cfg)
        assert summary["computed"] == len(texts), summary
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()
