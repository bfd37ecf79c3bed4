"""A synthetic month at scale: ingest → staging → texts → (hashed) embeddings → members.

Writes a Pushshift-shaped month with DuckDB (default 10,000,000 comments in 1,000 subreddits,
one submission per 25 comments, zstd NDJSON), then runs each stage with ``pipeline.execute``
(the product path, as a build runs it) in its own process on one warehouse and prints per stage
seconds, rows/s and the peak resident memory of that process (its RSS high-water mark, DuckDB
included), then the whole run's peak. DuckDB's memory_limit is ``--memory-limit`` (via
``COMMUNITYBENCH_DUCKDB_MEMORY_LIMIT``); the target is a peak <= 8 GiB.

FOR THE BENCH ONLY the embedding model is replaced by a deterministic hashed vector per text
(``hashed_embeddings``: DuckDB's ``hash(text_hash, k)`` per dimension) written to the embeddings
cache under a bench model name; the product's embeddings stage never does this.

    .venv/bin/python bench/scale.py [--comments 10000000] [--subreddits 1000] [--dim 384]
        [--memory-limit 4GiB] [--out bench/out/scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_MODEL = {"model": "bench/hashed-vector", "revision": "bench-v1"}
STAGES = ("ingest", "staging", "texts", "embeddings", "members")
WORDS = (
    "knife sourdough starter budget meal prep run mile pace coffee grinder roast think really "
    "great terrible would could recipe flavour oven bake train race week bike tyre route map "
    "garden tomato seed water light lens camera shutter film chess opening endgame puzzle"
).split()


def write_month(out: Path, comments: int, subreddits: int) -> tuple[Path, Path]:
    """RS_/RC_ files of a synthetic month, written by DuckDB (fast, multi-threaded)."""
    import duckdb

    rs, rc = out / "RS_scale.zst", out / "RC_scale.zst"
    if rs.exists() and rc.exists():
        return rs, rc
    con = duckdb.connect()
    words = "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    n_words = len(WORDS)
    threads = max(1, comments // 25)
    authors = max(100, comments // 40)
    text = (
        f"array_to_string(list_transform(range(8 + (hash(i, 'n') % 24)::int), "
        f"lambda k: {words}[1 + (hash(i, k) % {n_words})::int]), ' ')"
    )
    con.execute(
        f"""copy (select 's' || i as id, 'sub' || (i % {subreddits}) as subreddit,
            'user' || (hash(i, 'a') % {authors}) as author, 'thread ' || {text} as title,
            {text} as selftext, (hash(i, 's') % 500)::int as score, 0 as num_comments,
            (1420070400 + i * 60)::varchar as created_utc, 1425124282 as retrieved_on,
            false as stickied, null as distinguished, 't3_s' || i as name
            from range({threads}) t(i)) to '{rs}' (format json, compression zstd)"""
    )
    con.execute(
        f"""copy (select 'c' || i as id, 't1_c' || i as name,
            't3_s' || (i % {threads}) as link_id,
            case when i % 3 = 0 then 't3_s' || (i % {threads})
                 else 't1_c' || (i - 1 - (hash(i) % least(i, 50))) end as parent_id,
            'sub' || ((i % {threads}) % {subreddits}) as subreddit,
            'user' || (hash(i, 'a') % {authors}) as author, {text} as body,
            (hash(i, 's') % 500)::int as score, 1 as ups, 0 as downs,
            (1420070400 + i * 0.25)::bigint::varchar as created_utc, 1425124282 as retrieved_on,
            null as distinguished, false as stickied, 0 as gilded, 0 as controversiality
            from range({comments}) t(i)) to '{rc}' (format json, compression zstd)"""
    )
    return rs, rc


def hashed_embeddings(con, dim: int) -> int:
    """BENCH ONLY: a deterministic vector per distinct text, in place of the model."""
    import schemas

    con.execute(schemas.ddl(schemas.load_schema("embeddings")))
    vector = f"list_transform(range({dim}), lambda k: (hash(text_hash, k) % 20001) / 10000 - 1)"
    sql = f"""insert into embeddings by name
        select ? as model, ? as revision, text_hash, {dim} as dim,
            {vector}::float[] as vector, now()::timestamp as created_at
        from (select distinct text_hash from texts where clean_text <> '')
        anti join (select text_hash from embeddings where model = ?) using (text_hash)"""
    model, revision = BENCH_MODEL["model"], BENCH_MODEL["revision"]
    return con.execute(sql, [model, revision, model]).fetchall()[0][0]


def run_stage(name: str, warehouse_path: Path, dumps: list[Path], dim: int) -> dict:
    """One stage in this process; its seconds, rows and the process's peak RSS."""
    import warehouse
    from communitybench import pipeline
    from communitybench.config import BuildConfig

    config = BuildConfig(
        source={"kind": "dumps", "dumps": [str(p) for p in dumps]},
        embed={**BENCH_MODEL},
    )
    start = time.perf_counter()
    if name == "embeddings":
        with warehouse.connect(warehouse_path) as con:
            rows = {"embeddings": hashed_embeddings(con, dim)}
    else:
        rows = dict(pipeline.execute(pipeline.stage(name), config, warehouse_path).rows)
    seconds = time.perf_counter() - start
    # this process only: texts' worker processes (one per core from 400k texts) each hold one
    # batch of texts (their RUSAGE_CHILDREN figure counts the parent's pages a spawn forks)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"stage": name, "seconds": seconds, "rows": rows, "peak_rss": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=10_000_000)
    parser.add_argument("--subreddits", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384, help="vector size (MiniLM: 384)")
    parser.add_argument("--memory-limit", default="4GiB", help="DuckDB memory_limit")
    parser.add_argument("--out", type=Path, default=Path("bench/out/scale"))
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: one stage, JSON out
    args = parser.parse_args()
    out = (args.out / f"{args.comments}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    wh = out / "warehouse.duckdb"
    if args.stage:
        dumps = [out / "RS_scale.zst", out / "RC_scale.zst"]
        print(json.dumps(run_stage(args.stage, wh, dumps, args.dim)))
        return
    started = time.perf_counter()
    rs, rc = write_month(out, args.comments, args.subreddits)
    print(
        f"month: {args.comments:,} comments in {args.subreddits:,} subreddits; "
        f"{(rs.stat().st_size + rc.stat().st_size) / 1e9:.2f} GB zstd "
        f"(written in {time.perf_counter() - started:.0f} s); {os.cpu_count()} CPUs, "
        f"DuckDB memory_limit {args.memory_limit}",
        flush=True,
    )
    for part in out.glob("warehouse.duckdb*"):
        part.unlink()
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "COMMUNITYBENCH_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "COMMUNITYBENCH_PSEUDONYM_KEY": "bench-only-key-" + "0" * 32,
    }
    peak = 0
    for name in STAGES:
        command = [
            sys.executable,
            __file__,
            "--stage",
            name,
            "--comments",
            str(args.comments),
            "--dim",
            str(args.dim),
            "--out",
            str(args.out),
        ]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:])
            raise SystemExit(f"stage {name} failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        peak = max(peak, result["peak_rss"])
        # rows/s: the month's comments per second of the stage (the same basis for every stage)
        basis = args.comments
        rows = ", ".join(f"{t}={n:,}" for t, n in result["rows"].items())
        print(
            f"{name:10s} {result['seconds']:8.1f} s  {basis / result['seconds']:10,.0f} rows/s  "
            f"peak RSS {result['peak_rss'] / 2**30:5.2f} GiB  ({rows})",
            flush=True,
        )
    print(
        f"peak RSS over all stages: {peak / 2**30:.2f} GiB (target <= 8 GiB); "
        f"warehouse {sum(p.stat().st_size for p in out.glob('warehouse.duckdb*')) / 1e9:.2f} GB; "
        f"total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
