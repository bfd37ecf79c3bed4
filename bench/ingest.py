"""Ingest throughput: `communitybench ingest` vs bare DuckDB read_json + insert, same file.

Generates a Pushshift-style comment dump (default 1,000,000 lines, zstd), then times
1. the project's ingest stage (stream → screen → parse → classify → raw_comments, checkpoints),
2. a bare baseline: ``insert into t select * from read_json(file)`` in DuckDB,
each on a fresh warehouse, and prints rows/s and the ratio (target >= 0.8).

    .venv/bin/python bench/ingest.py [--rows 1000000] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import duckdb
import zstandard

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bar inside the timing
import communitybench  # noqa: E402,F401  (offline defaults)
from communitybench import pipeline  # noqa: E402
from communitybench.config import BuildConfig  # noqa: E402

WORDS = (
    "the a knife sourdough starter budget meal prep run mile pace coffee grinder roast "
    "think really great terrible would could recipe flavour oven bake train race week"
).split()


def write_dump(path: Path, rows: int, seed: int = 1) -> None:
    """A zstd NDJSON comment dump with Pushshift field names (default zstd window)."""
    rng = random.Random(seed)
    cctx = zstandard.ZstdCompressor(level=3)
    with path.open("wb") as fh, cctx.stream_writer(fh) as out:
        for i in range(rows):
            body = " ".join(rng.choices(WORDS, k=rng.randint(8, 60)))
            row = {
                "id": f"b{i:07x}",
                "link_id": f"t3_s{i // 50}",
                "parent_id": f"t3_s{i // 50}",
                "subreddit": f"sub{i % 7}",
                "author": f"user{rng.randint(0, 50000)}",
                "body": body,
                "score": rng.randint(-5, 500),
                "ups": 1,
                "downs": 0,
                "created_utc": 1420070400 + i,
                "retrieved_on": 1425124282,
                "distinguished": None,
                "stickied": False,
                "gilded": 0,
                "controversiality": 0,
            }
            out.write((json.dumps(row, separators=(",", ":")) + "\n").encode())


def time_project(path: Path, wh: Path) -> float:
    """The ingest stage as a build runs it (``pipeline.execute``, no Prefect overhead)."""
    config = BuildConfig(source={"kind": "dumps", "dumps": [path.resolve()]})
    start = time.perf_counter()
    pipeline.execute(pipeline.stage("ingest"), config, wh)
    return time.perf_counter() - start


def time_bare(path: Path, wh: Path) -> float:
    con = duckdb.connect(str(wh))
    start = time.perf_counter()
    con.execute(
        "create table t as select * from read_json(?, format='newline_delimited', "
        "compression='zstd') limit 0",
        [str(path)],
    )
    con.execute(
        "insert into t select * from read_json(?, format='newline_delimited', compression='zstd')",
        [str(path)],
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dump = args.out / f"RC_bench_{args.rows}.zst"
    if not dump.exists():
        print(f"generating {args.rows:,} comments -> {dump}")
        write_dump(dump, args.rows)
    for wh in args.out.glob("bench-*.duckdb*"):
        wh.unlink()
    bare = time_bare(dump, args.out / "bench-bare.duckdb")
    ours = time_project(dump, args.out / "bench-ours.duckdb")
    print(f"file: {dump} ({dump.stat().st_size / 1e6:.1f} MB compressed, {args.rows:,} rows)")
    print(f"bare duckdb read_json + insert: {bare:7.2f} s  {args.rows / bare:12,.0f} rows/s")
    print(f"communitybench ingest:          {ours:7.2f} s  {args.rows / ours:12,.0f} rows/s")
    print(f"ratio (ours / bare rows/s): {bare / ours:.2f}   (target >= 0.8)")


if __name__ == "__main__":
    main()
