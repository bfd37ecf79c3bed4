"""The shared real Reddit samples (``../shared/data/reddit``) as Pushshift NDJSON dump files.

Each sample was scraped with its own field names; these adapters write the RS/RC NDJSON the
dump reader takes, so a sample goes through the same path as a real dump from raw observations
onwards. Used by the real-data tests (``tests/fixtures/real.py``) and by
``scripts/real_samples.py``; the data itself is never copied into the repository.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def epoch(date: str) -> int:
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())


def _write(out: Path, name: str, rs: list[dict], rc: list[dict]) -> list[Path]:
    paths = [out / f"RS_{name}.ndjson", out / f"RC_{name}.ndjson"]
    for path, rows in zip(paths, (rs, rc), strict=True):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return paths


def airline_dumps(folder: Path, out: Path, subreddits: list[str] | None = None) -> list[Path]:
    """RS/RC files from the airline sample's reddit_posts.json / reddit_comments.json (an API
    scrape of posts and comments with parent ids); ``subreddits`` None: all of them."""
    posts = json.loads((folder / "reddit_posts.json").read_text(encoding="utf-8"))
    comments = json.loads((folder / "reddit_comments.json").read_text(encoding="utf-8"))
    posts = [p for p in posts if subreddits is None or p["subreddit"] in subreddits]
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
            "created_utc": epoch(p["date"]),
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
            "created_utc": epoch(c["date"]),
        }
        for c in comments
        if c["post_id"] in sub_of
    ]
    return _write(out, "airlines", rs, rc)


def college_dumps(
    folder: Path, out: Path, subreddits: list[str] | None = None, *, threads: int
) -> list[Path]:
    """RS/RC files from the college sample (one JSON file per thread, nested comment trees):
    per subreddit (None: every folder), its ``threads`` latest threads with at least three
    top-level replies.

    The sample's quirks (SOURCE.txt): the title key is "title:", "created" is Unix seconds, a
    comment's id is the last segment of its "link", "upvotes" is the net score.
    """
    rs, rc = [], []
    if subreddits is None:
        subreddits = sorted(p.name for p in folder.iterdir() if p.is_dir())
    for sub in subreddits:
        files = sorted((folder / sub).glob("*.json"), key=lambda p: -int(p.stem.split("-")[-2]))
        kept = 0
        for path in files:
            if kept >= threads:
                break
            thread = json.loads(path.read_text(encoding="utf-8"))
            tree = thread.get("comments")
            if not isinstance(tree, dict) or len(tree) < 3:
                continue
            kept += 1
            rs.append(
                {
                    "id": thread["sid"],
                    "subreddit": sub,
                    "author": thread["author"],
                    "title": thread["title:"],
                    "selftext": thread.get("text") or "",
                    "score": thread["upvotes"],
                    "created_utc": thread["created"],
                }
            )
            rc += _college_comments(tree, sub, thread["sid"], "t3_" + thread["sid"])
    return _write(out, "college", rs, rc)


def _college_comments(tree: dict, sub: str, sid: str, parent: str) -> list[dict]:
    rows = []
    for node in tree.values():
        cid = node["link"].rstrip("/").rsplit("/", 1)[-1]
        rows.append(
            {
                "id": cid,
                "link_id": "t3_" + sid,
                "parent_id": parent,
                "subreddit": sub,
                "author": node["author"],
                "body": node["text"],
                "score": node["upvotes"],
                "created_utc": node["created"],
            }
        )
        if isinstance(node.get("replies"), dict):
            rows += _college_comments(node["replies"], sub, sid, "t1_" + cid)
    return rows


def pushshift_head(folder: Path) -> list[Path]:
    """pushshift-rc-2015-01-head5k: 5,000 comments of a real monthly dump, already NDJSON (no
    submissions)."""
    return [folder / "public" / "reddit.comments.5k.json"]
