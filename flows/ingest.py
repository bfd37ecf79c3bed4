"""Flows that bring source data into the warehouse: dumps (and the demo forum) → raw → staging.

Dump files are ingested the way ``[runner]`` asks. ``local`` (the default): ``ingest_dump_files``
writes each file straight into the warehouse, fastest on one machine since DuckDB already uses
every core. ``dask``: the subflow ``ingest_dumps_parallel`` runs one ``decode_dump_file`` task per
file on Dask workers, each into a spool DuckDB, and merges every spool here as it arrives
(``communitybench/sources/spool.py``), so the warehouse keeps a single writer.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from communitybench import stages
from communitybench.config import BuildConfig, RunnerConfig
from communitybench.runner import describe, make_task_runner, map_ordered, window_size
from communitybench.sources.dumps import spool
from communitybench.sources.dumps.ingest import check_dump_paths


@task(name="generate_demo_forum")
def generate_demo_forum(out_dir: Path, *, seed: int, scale: float, months: int) -> dict:
    """Write the deterministic demo forum (Pushshift-format dumps + truth.json), once."""
    return stages.run_demo_forum(out_dir, seed=seed, scale=scale, months=months)


@task(name="ingest_dump_files")
def ingest_dump_files(warehouse_path: Path, paths: list[Path], **kwargs) -> dict:
    """Append dump lines to raw tables; quarantine bad lines."""
    return stages.run_ingest(warehouse_path, paths, **kwargs)


# no Prefect result cache or persisted results: the spool and the warehouse's ingest_files are
# the checkpoints (a result cache would skip a file whose spool was since merged and deleted)
@task(name="decode_dump_file", cache_policy=NO_CACHE, persist_result=False)
def decode_dump_file(path: Path, **kwargs) -> dict:
    """Decode one dump file into its spool DuckDB (runs where the task runner puts it)."""
    return spool.decode_to_spool(path, **kwargs)


@flow(name="ingest_dumps_parallel", log_prints=True)
def ingest_dumps_parallel(
    warehouse_path: Path, paths: list[Path], *, runner: RunnerConfig, spool_dir: Path, **ingest
) -> dict:
    """Decode dump files on this flow's task runner; merge each file's spool as it arrives."""

    def on_runner(files, **kwargs):
        return map_ordered(decode_dump_file, files, window=window_size(runner), **kwargs)

    summary = spool.run_spooled_ingest(
        warehouse_path, paths, spool_dir=spool_dir, decode_files=on_runner, **ingest
    )
    return {**summary, "runner": describe(runner)}


def ingest_on_runner(config: BuildConfig, warehouse_path: Path, paths: list[Path]) -> dict:
    """Ingest dump files directly (``[runner] kind = "local"``) or spooled through Dask."""
    if config.runner.kind == "local":
        return ingest_dump_files(warehouse_path, paths, **ingest_kwargs(config))
    check_dump_paths(paths)  # a clear error before a cluster starts
    flow_ = ingest_dumps_parallel.with_options(task_runner=make_task_runner(config.runner))
    return flow_(
        warehouse_path,
        paths,
        runner=config.runner,
        spool_dir=config.resolve(config.runner.spool_dir),
        **ingest_kwargs(config),
    )


@task(name="build_staging")
def build_staging(warehouse_path: Path, **kwargs) -> dict:
    """Rebuild the staging tables with drop reasons."""
    return stages.run_staging(warehouse_path, **kwargs)


def dump_paths(config: BuildConfig) -> list[Path]:
    """The dump files a config names (the demo forum's files for kind = demo)."""
    if config.source.kind == "demo":
        out = config.resolve(config.source.demo.out_dir)
        return sorted(out.glob("RS_*.zst")) + sorted(out.glob("RC_*.zst"))
    return [config.resolve(p) for p in config.source.dumps]


def ingest_kwargs(config: BuildConfig) -> dict:
    """Unpack [filters] and [ingest] into run_ingest keyword arguments."""
    return stages.ingest_kwargs(config)


@flow(name="ingest", log_prints=True)
def ingest(config: BuildConfig, warehouse_path: Path, paths: list[Path] | None = None) -> dict:
    """Source → raw → staging: dump files, the demo forum, or a Reddit crawl."""
    if config.source.kind == "reddit" and not paths:
        from flows.crawl import crawl_reddit

        crawled = crawl_reddit(config, warehouse_path)
        return {"crawl": crawled, "staging": crawled["staging"]}
    if config.source.kind == "demo" and not paths:
        demo = config.source.demo
        generate_demo_forum(
            config.resolve(demo.out_dir), seed=demo.seed, scale=demo.scale, months=demo.months
        )
    files = paths or dump_paths(config)
    ingested = ingest_on_runner(config, warehouse_path, files)
    staged = build_staging(warehouse_path, **stages.staging_kwargs(config.clean, config=config))
    return {"ingest": ingested, "staging": staged}
