"""Community and task figures on the shared real Reddit samples (../shared/data/reddit).

Converts each sample to Pushshift NDJSON dumps (the dump reader's input), builds it with the
default settings through every stage up to ``tasks`` in its own warehouse (embeddings cached
there, so a rerun only re-clusters) and prints per sample: members, communities per level,
noise, stability, coverage per level and instances per task and level.

    COMMUNITYBENCH_PSEUDONYM_KEY=... .venv/bin/python scripts/real_samples.py OUT_DIR
        [--samples airline college pushshift] [--college-threads 60] [--scope subreddit]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

from communitybench import pipeline
from communitybench.config import BuildConfig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reddit"
STAGES = ("ingest", "staging", "texts", "embeddings", "members", "communities", "labels")
STAGES += ("profiles", "tasks")


def _epoch(date: str) -> int:
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())


def _write(out: Path, name: str, rs: list[dict], rc: list[dict]) -> list[Path]:
    paths = [out / f"RS_{name}.ndjson", out / f"RC_{name}.ndjson"]
    for path, rows in zip(paths, (rs, rc), strict=True):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return paths


def airline(out: Path, _args) -> list[Path]:
    """airline-subreddits-2024: an API scrape (posts + comments with parent ids)."""
    folder = DATA / "airline-subreddits-2024" / "data"
    posts = json.loads((folder / "reddit_posts.json").read_text(encoding="utf-8"))
    comments = json.loads((folder / "reddit_comments.json").read_text(encoding="utf-8"))
    sub_of = {p["id"]: p["subreddit"] for p in posts}
    rs = [
        {
            "id": p["id"],
            "subreddit": p["subreddit"],
            "author": p["username"],
            "title": p["title"],
            "selftext": p["content"] or "",
            "score": p["score"],
            "num_comments": p["commentCount"],
            "created_utc": _epoch(p["date"]),
        }
        for p in posts
    ]
    rc = [
        {
            "id": c["id"],
            "link_id": "t3_" + c["post_id"],
            "parent_id": c["parent_id"],
            "subreddit": sub_of[c["post_id"]],
            "author": c["username"],
            "body": c["content"],
            "score": c["score"],
            "created_utc": _epoch(c["date"]),
        }
        for c in comments
        if c["post_id"] in sub_of
    ]
    return _write(out, "airline", rs, rc)


def college(out: Path, args) -> list[Path]:
    """college-subreddits-2021: one JSON per thread with its full reply tree; the newest
    ``--college-threads`` threads of each subreddit (CPU embedding time bounds the sample)."""
    rs, rc = [], []
    for folder in sorted((DATA / "college-subreddits-2021" / "dat").iterdir()):
        files = sorted(folder.glob("*.json"), key=lambda p: int(p.stem.split("-")[-2]))
        for path in files[-args.college_threads :]:
            thread = json.loads(path.read_text(encoding="utf-8"))
            sid, sub = thread["sid"], folder.name
            rs.append(
                {
                    "id": sid,
                    "subreddit": sub,
                    "author": thread["author"],
                    "title": thread.get("title") or thread.get("title:") or "",
                    "selftext": thread.get("text") or "",
                    "score": thread.get("upvotes", 0),
                    "created_utc": int(thread["created"]),
                }
            )
            stack = [(cid, c, "t3_" + sid) for cid, c in thread.get("comments", {}).items()]
            while stack:
                cid, c, parent = stack.pop()
                rc.append(
                    {
                        "id": cid,
                        "link_id": "t3_" + sid,
                        "parent_id": parent,
                        "subreddit": sub,
                        "author": c.get("author") or "[deleted]",
                        "body": c.get("text") or "",
                        "score": c.get("upvotes", 0),
                        "created_utc": int(c["created"]),
                    }
                )
                stack += [(k, v, "t1_" + cid) for k, v in (c.get("replies") or {}).items()]
    return _write(out, "college", rs, rc)


def pushshift(_out: Path, _args) -> list[Path]:
    """pushshift-rc-2015-01-head5k: 5,000 comments of a real monthly dump (no submissions)."""
    return [DATA / "pushshift-rc-2015-01-head5k" / "public" / "reddit.comments.5k.json"]


SAMPLES = {"airline": airline, "college": college, "pushshift": pushshift}


def figures(results: dict) -> dict:
    com = results["communities"].details
    tasks = results["tasks"].details
    return {
        "members": com["members"],
        "forums": com["levels"]["forum"]["published"],
        "subs_found": com["levels"]["sub"]["found"],
        "subs_published": com["levels"]["sub"]["published"],
        "sub_noise_share": com["noise_share"],
        "stability": com["levels"]["sub"]["stability"],
        "coverage": {lv: round(com["levels"][lv]["coverage"], 4) for lv in ("forum", "sub")},
        "instances": tasks["per_task"],
        "instances_per_level": tasks.get("per_level"),
        "scopes": [(s["scope"], s["members"], s["communities"]) for s in com["scopes"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--college-threads", type=int, default=60)
    parser.add_argument("--scope", default="subreddit")
    parser.add_argument("--stages", nargs="+", default=list(STAGES))
    args = parser.parse_args()
    os.environ.setdefault("COMMUNITYBENCH_PSEUDONYM_KEY", "real-samples-measurement-key")
    for name in args.samples:
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        paths = SAMPLES[name](folder, args)
        config = BuildConfig(
            source={"kind": "dumps", "dumps": [p.resolve() for p in paths]},
            communities={"scope": args.scope},
        )
        results = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for stage in pipeline.select(config, tuple(args.stages)):
                results[stage.name] = pipeline.execute(stage, config, folder / "warehouse.duckdb")
        if "tasks" in results:
            print(name, json.dumps(figures(results)), flush=True)
        else:
            print(name, "built through", list(results), flush=True)


if __name__ == "__main__":
    main()
