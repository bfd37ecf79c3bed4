"""Ingest throughput end to end: `communitybench ingest FILE` vs bare DuckDB `read_json`, same file.

Writes a Pushshift-shaped comment dump (default 400,000 lines, zstd; the 2015 field set, bodies
from the real Pushshift head in ../shared when it is there, else synthetic), then runs, in
alternation, each in a fresh process on a fresh warehouse:

1. bare: ``python -c "duckdb.connect(wh).execute('create table t as select * from
   read_json(FILE)')"``: DuckDB's own reader and decompressor, schema auto-detected;
2. ours: ``communitybench -w wh ingest --no-staging FILE`` (screening, quarantine, checkpoints,
   dedup keys, the raw_comments contract) and, with ``--staging``, the default
   ``communitybench ingest FILE`` (ingest, then staging).

Process start counts on both sides. Prints seconds and rows/s per run, the ratio
(bare seconds / ours seconds, target >= 0.8) per round and the median and spread over
``--rounds``. The file uses zstd's default window: DuckDB's reader refuses Pushshift's 2 GiB
window ("Frame requires too much memory for decoding"), which communitybench reads.

    .venv/bin/python bench/ingest.py [--rows 400000] [--rounds 3] [--staging] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
HEAD = ROOT.parent / "shared/data/reddit/pushshift-rc-2015-01-head5k/public/reddit.comments.5k.json"
WORDS = (
    "the a knife sourdough starter budget meal prep run mile pace coffee grinder roast think "
    "really great terrible would could recipe flavour oven bake train race week café naïve 👍"
).split()
BARE = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[2]); "
    "con.execute(\"create table t as select * from read_json(?, format='newline_delimited', "
    "compression='zstd')\", [sys.argv[1]]); "
    "print(con.execute('select count(*) from t').fetchall()[0][0])"
)


def body_pool(rng: random.Random) -> list[str]:
    """Comment bodies: the real Pushshift head's when present, else synthetic ones."""
    if HEAD.is_file():
        text = HEAD.read_text()
        rows = [json.loads(line.strip().strip("[],")) for line in text.splitlines()]
        return [r["body"] for r in rows]
    return [
        " ".join(rng.choices(WORDS, k=int(rng.lognormvariate(3.2, 0.9)) + 1)) for _ in range(5000)
    ]


def write_dump(path: Path, rows: int, seed: int = 1) -> None:
    """A zstd NDJSON comment dump with the Pushshift 2015 field set (default zstd window)."""
    rng = random.Random(seed)
    bodies = body_pool(rng)
    cctx = zstandard.ZstdCompressor(level=3, threads=-1)
    with path.open("wb") as fh, cctx.stream_writer(fh) as out:
        lines = []
        for i in range(rows):
            cid, thread = f"c{i:08x}", f"t3_s{i // 40:06x}"
            row = {
                "score_hidden": False,
                "name": f"t1_{cid}",
                "link_id": thread,
                "body": rng.choice(bodies),
                "downs": 0,
                "created_utc": str(1420070400 + i // 150),
                "score": rng.randint(-5, 500),
                "author": f"user{rng.randint(0, 60000)}",
                "distinguished": None,
                "id": cid,
                "archived": False,
                "parent_id": thread
                if rng.random() < 0.4
                else f"t1_c{rng.randrange(max(i, 1)):08x}",
                "subreddit": f"sub{rng.randrange(1000)}",
                "author_flair_css_class": None,
                "author_flair_text": None,
                "gilded": 0,
                "retrieved_on": 1425124282,
                "ups": 1,
                "controversiality": 0,
                "subreddit_id": f"t5_{rng.randrange(1000):x}",
                "edited": False,
            }
            lines.append(json.dumps(row, separators=(",", ":")))
            if len(lines) == 10_000:
                out.write(("\n".join(lines) + "\n").encode())
                lines = []
        if lines:
            out.write(("\n".join(lines) + "\n").encode())


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fresh(path: Path) -> Path:
    for part in (path, path.with_name(path.name + ".wal")):
        part.unlink(missing_ok=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--staging", action="store_true", help="also time ingest + staging")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    dump = out / f"RC_bench_{args.rows}.zst"
    if not dump.exists():
        print(f"generating {args.rows:,} comments -> {dump}", flush=True)
        write_dump(dump, args.rows)
    env = {**os.environ, "TQDM_DISABLE": "1"}
    cli = str(Path(sys.executable).with_name("communitybench"))
    runs = {
        "bare": lambda wh: [sys.executable, "-c", BARE, str(dump), str(wh)],
        "ours": lambda wh: [cli, "-w", str(wh), "ingest", "--no-staging", str(dump)],
    }
    if args.staging:
        runs["ours+staging"] = lambda wh: [cli, "-w", str(wh), "ingest", str(dump)]
    size = dump.stat().st_size / 1e6
    print(f"file: {dump.name} ({size:.1f} MB zstd, {args.rows:,} comments); {os.cpu_count()} CPUs")
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(1, args.rounds + 1):
        for name, command in runs.items():
            seconds[name].append(timed(command(fresh(out / f"bench-{name}.duckdb")), env))
        line = ", ".join(f"{n} {s[-1]:6.2f} s" for n, s in seconds.items())
        ratios = ", ".join(
            f"{n} {seconds['bare'][-1] / s[-1]:.2f}" for n, s in seconds.items() if n != "bare"
        )
        print(f"round {round_}: {line}; ratio {ratios}", flush=True)
    for name, values in seconds.items():
        best = min(values)
        print(
            f"{name:13s} median {statistics.median(values):6.2f} s  best {best:6.2f} s  "
            f"{args.rows / statistics.median(values):10,.0f} rows/s"
        )
    for name in (n for n in runs if n != "bare"):
        per_round = [b / o for b, o in zip(seconds["bare"], seconds[name], strict=True)]
        print(
            f"ratio {name} (bare s / ours s): median {statistics.median(per_round):.2f}, "
            f"range {min(per_round):.2f}-{max(per_round):.2f} over {len(per_round)} rounds "
            "(target >= 0.8)"
        )


if __name__ == "__main__":
    main()
