"""A tiny, valid warehouse with the four task tables (inline data), for validation/release tests."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import warehouse

COMMUNITIES = ["c_aaaaaaaaaaaa", "c_bbbbbbbbbbbb"]
AUTHORS = ["quiet_otter_42", "BakeMaster3000", "sam"]


def iid(*parts) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:20]


def _common(task: str, n: int) -> dict:
    thread = f"s{n}"
    return {
        "instance_id": iid(task, n),
        "community_id": COMMUNITIES[n % 2],
        "subreddit": "cooking",
        "thread_id": thread,
        "query_id": f"t3_{thread}",
        "query_title": f"Which knife should I buy, question {n}?",
        "query_body": "Budget is small.",
        "option_ids": [f"t1_{thread}a", f"t1_{thread}b", f"t1_{thread}c"],
        "option_texts": [
            "A cheap Victorinox.",
            "Save for a Japanese gyuto.",
            "Any knife, sharpen it.",
        ],
        "k": 3,
    }


PROFILE = json.dumps({"summary": "home cooks who value cheap, sharp tools"})


def rows(task: str, n: int) -> dict:
    row = _common(task, n)
    if task in ("pi", "dp", "ccg"):
        row["profile"] = PROFILE
    if task == "pi":
        row.update(label=n % 3, margin=0.2, estimator="dirichlet_score")
    if task == "dp":
        row.update(distribution=[0.5, 0.3, 0.2], estimator="dirichlet_score")
    if task == "ccg":
        row.update(reference_ids=[row["option_ids"][0]], reference_texts=[row["option_texts"][0]])
    if task == "ci":
        true = row["community_id"]
        other = COMMUNITIES[1 - COMMUNITIES.index(true)]
        candidates = [other, true] if n % 2 else [true, other]
        row.update(
            distribution=[0.6, 0.3, 0.1],
            estimator="dirichlet_score",
            candidate_ids=candidates,
            candidate_profiles=json.dumps([PROFILE, PROFILE]),
            label=candidates.index(true),
            n_hard=1,
        )
    return row


def insert(con, table: str, row: dict) -> None:
    cols = ", ".join(row)
    con.execute(
        f"insert into {table} ({cols}) values ({', '.join('?' * len(row))})", list(row.values())
    )


def build(path, n_threads: int = 12):
    """A warehouse with staging authors and valid task tables; returns the open connection."""
    con = warehouse.connect(path)
    for layer in ("raw", "staging", "marts"):
        warehouse.ensure_tables(con, layer=layer)
    for i, author in enumerate(AUTHORS):
        insert(
            con,
            "stg_comments",
            {
                "id": f"x{i}",
                "link_id": "s0",
                "parent_id": "t3_s0",
                "is_top_level": True,
                "subreddit": "cooking",
                "author": author,
                "body": "a body that is long enough",
                "created_utc": datetime(2026, 1, 1),
                "stickied": False,
                "status": "ok",
                "n_observations": 1,
                "first_retrieved_at": datetime(2026, 1, 2),
                "last_retrieved_at": datetime(2026, 1, 2),
                "source": "dump",
            },
        )
    for task in ("pi", "dp", "ccg", "ci"):
        for n in range(n_threads):
            insert(con, f"task_{task}", rows(task, n))
    return con
