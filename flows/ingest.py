"""Flows that bring source data into the warehouse: dumps (and the demo forum) → raw → staging."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from communitybench import stages
from communitybench.config import BuildConfig


@task(name="generate_demo_forum")
def generate_demo_forum(out_dir: Path, *, seed: int, scale: float, months: int) -> dict:
    """Write the deterministic demo forum (Pushshift-format dumps + truth.json), once."""
    return stages.run_demo_forum(out_dir, seed=seed, scale=scale, months=months)


@task(name="ingest_dump_files")
def ingest_dump_files(warehouse_path: Path, paths: list[Path], **kwargs) -> dict:
    """Append dump lines to raw tables; quarantine bad lines."""
    return stages.run_ingest(warehouse_path, paths, **kwargs)


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
    ingested = ingest_dump_files(warehouse_path, files, **ingest_kwargs(config))
    staged = build_staging(warehouse_path, **stages.staging_kwargs(config.clean, config=config))
    return {"ingest": ingested, "staging": staged}
