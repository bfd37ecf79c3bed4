"""Rebuild cost: full demo build vs a no-change rebuild vs adding ~10% new data.

Runs the real ``build_release`` flow three times in one process (a trivial flow first, so the
temporary Prefect server's start-up is not charged to any build):

1. a full build from nothing (demo forum, seed/scale below);
2. the same build again with no new data (target: <= 0.05 of the full build's time);
3. the demo forum's second month added (~10% more data).

    .venv/bin/python bench/rebuild.py [--scale 1.0] [--out bench/out/rebuild]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import communitybench  # noqa: F401  (offline defaults)
from communitybench.config import load_config


def _config(root: Path, scale: float, months: int):
    path = root / "configs" / f"bench-{months}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[source.demo]\nseed = 7\nscale = {scale}\nmonths = {months}\nout_dir = "demo"\n'
    )
    return load_config(path)


def _timed(config, root: Path) -> tuple[float, object]:
    from flows.build_release import build_release

    start = time.perf_counter()
    summary = build_release(
        config=config,
        warehouse_path=root / "wh.duckdb",
        releases_dir=root / "releases",
        build_dir=root / "build",
    )
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("bench/out/rebuild"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    from prefect import flow

    flow(lambda: None, name="warm-up")()
    full, first = _timed(_config(args.out, args.scale, 1), args.out)
    again, second = _timed(_config(args.out, args.scale, 1), args.out)
    added, third = _timed(_config(args.out, args.scale, 2), args.out)
    print(f"full build (scale {args.scale}):   {full:8.1f} s  -> {first.release['version']}")
    print(
        f"no-change rebuild:         {again:8.1f} s  -> {second.release['version']} "
        f"(reused from {second.release.get('reused_from')})"
    )
    print(f"ratio no-change / full:    {again / full:8.3f}   (target <= 0.05)")
    print(f"+10% data (month 2):       {added:8.1f} s  -> {third.release['version']}")
    embedded = third.result("embeddings").counts("texts")
    print(f"  embeddings on +10%: {embedded.computed:,} computed, {embedded.reused:,} cached")


if __name__ == "__main__":
    main()
