"""Deterministic demo forum: Pushshift-style monthly dumps with planted ground truth.

`write_demo_forum` writes RS_2026-MM.zst (submissions) and RC_2026-MM.zst (comments), NDJSON
compressed with a 2 GiB zstd window like real Pushshift dumps, plus truth.json: which community
each member belongs to, which community owns each thread, the planted preference distribution
over each thread's top-level replies, and every planted noise row (bots, deleted, removed,
duplicates, malformed lines, later "[deleted]" observations). It is the pipeline's no-network
default source and the ground truth that checks what the pipeline recovers.

Every draw comes from `numpy.random.default_rng([seed, stream])`: stream 0 builds the members,
stream m builds month m, so month 1 is byte-identical whether one or more months are written.
Who writes what, where and when is drawn in `world.py`; the words and templates they
write with are data (`vocab.toml`, composed by `vocab.py`). This module turns each month into
dump records, lines and files, and writes the truth.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import zstandard

from communitybench.sources.demo import realistic, vocab
from communitybench.sources.demo.world import (
    BOTS,
    DAY,
    DELETED,
    RATE,
    Month,
    World,
    comment_body,
    generate_month,
    make_world,
)

DEMO_FORUM_VERSION = "demo_forum_v1"
PROFILES = ("easy", "realistic")  # easy: communities separable by vocabulary (realistic.py)
ZSTD_LEVEL = 10
ZSTD_WINDOW_LOG = 31  # 2 GiB, as `zstd --long=31` dumps: readers need max_window_size=2**31
COMMENT_FIELDS = tuple(
    "id link_id parent_id subreddit subreddit_id author body score ups downs created_utc "
    "retrieved_on distinguished stickied controversiality gilded edited author_flair_text "
    "is_submitter".split()
)
SUBMISSION_FIELDS = tuple(
    "id name subreddit subreddit_id author title selftext score num_comments created_utc "
    "retrieved_on distinguished stickied url permalink is_self over_18".split()
)


def _base36(number: int) -> str:
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[rem] + out
    return out or "0"


def _assign_ids(mon: Month) -> None:
    """Reddit-like base36 ids increasing with creation time; month blocks never overlap."""
    rng, offset = mon.rng, mon.world.id_offset
    next_id = 36**5 * 20 + (mon.index - 1) * 36**5 // 2 + offset  # 6 characters
    for thread in sorted(mon.threads, key=lambda t: (t["created"], t["tid"])):
        next_id += int(rng.integers(1, 400))
        thread["id"] = _base36(next_id)
    next_id = 36**6 * 10 + (mon.index - 1) * 36**6 + offset  # 7 characters
    for i in sorted(range(len(mon.comments)), key=lambda i: (mon.comments[i]["created"], i)):
        next_id += int(rng.integers(1, 40))
        mon.comments[i]["id"] = _base36(next_id)
    mon.next_id = next_id  # continues for the malformed lines' phantom rows


def _name(mon: Month, author: int | str) -> str:
    return author if isinstance(author, str) else mon.world.members[author].name


def _comment_record(mon: Month, c: dict) -> dict:
    thread = mon.threads[c["thread"]]
    sub, bot = thread["subreddit"], c["kind"] == "automod"
    parent = mon.comments[c["parent"]]["id"] if c["parent"] is not None else None
    rec = dict.fromkeys(COMMENT_FIELDS)
    rec.update(id=c["id"], link_id="t3_" + thread["id"])
    rec.update(parent_id=f"t1_{parent}" if parent else "t3_" + thread["id"], subreddit=sub)
    rec.update(subreddit_id=vocab.SUBREDDITS[sub]["subreddit_id"], author=_name(mon, c["author"]))
    rec.update(body=c["body"], score=c["score"], ups=c["score"], downs=0)
    rec.update(created_utc=c["created"], retrieved_on=c["retrieved"])
    rec.update(distinguished="moderator" if bot else None, stickied=bot, controversiality=0)
    rec.update(gilded=0, edited=False, author_flair_text=None)
    rec["is_submitter"] = c["kind"] in ("normal", "duplicate") and c["author"] == thread["author"]
    return rec


def _submission_record(mon: Month, t: dict) -> dict:
    slug = re.sub(r"[^a-z0-9]+", "_", t["title"].lower()).strip("_")[:50].rstrip("_")
    permalink = f"/r/{t['subreddit']}/comments/{t['id']}/{slug}/"
    bot = t["kind"] == "automod"
    rec = dict.fromkeys(SUBMISSION_FIELDS)
    rec.update(id=t["id"], name="t3_" + t["id"], subreddit=t["subreddit"])
    rec.update(subreddit_id=vocab.SUBREDDITS[t["subreddit"]]["subreddit_id"])
    rec.update(author=_name(mon, t["author"]), title=t["title"], selftext=t["selftext"])
    rec.update(score=t["score"], num_comments=len(t["rows"]), created_utc=t["created"])
    rec.update(retrieved_on=t["retrieved"], distinguished="moderator" if bot else None)
    rec.update(stickied=bot, url="https://www.reddit.com" + permalink, permalink=permalink)
    rec.update(is_self=True, over_18=False)
    return rec


def _records(mon: Month) -> tuple[list[dict], list[dict]]:
    """Submission and comment observations in file order; the later [deleted] ones go last."""
    rng = mon.rng
    for row in mon.threads + mon.comments:
        row["retrieved"] = row["created"] + int(rng.integers(600, 3 * DAY))
    later = []
    for c in mon.comments:
        if c["refetched"]:
            c["retrieved"] = c["created"] + int(rng.integers(60, 1800))
            later.append((c["created"] + int(rng.integers(5 * DAY, 20 * DAY)), c))
    comments = [_comment_record(mon, c) for c in sorted(mon.comments, key=lambda c: c["id"])]
    for retrieved, c in sorted(later, key=lambda pair: (pair[0], pair[1]["id"])):
        comments.append(_comment_record(mon, c))
        comments[-1].update(author=DELETED, body=DELETED, retrieved_on=retrieved)
        comments[-1]["is_submitter"] = False
    threads = sorted(mon.threads, key=lambda t: t["id"])
    return [_submission_record(mon, t) for t in threads], comments


def _lines(rng: np.random.Generator, records: list[dict]) -> list[str]:
    """One JSON line per record; ~3% write created_utc as a string, as some dumps do."""
    out = []
    for record in records:
        if rng.random() < RATE["string_time"]:
            record = {**record, "created_utc": str(record["created_utc"])}
        out.append(json.dumps(record, separators=(",", ":")))
    return out


def _malformed(mon: Month, template: dict) -> list[str]:
    """4-5 broken lines: truncated JSON, not JSON, a JSON array, an object without "id"."""
    rng, members = mon.rng, mon.world.members
    kinds = ["truncated", "not_json", "array", "missing_id"] + ["truncated"] * int(rng.integers(2))
    out = []
    for kind in rng.permutation(kinds):
        author = int(rng.integers(len(members)))
        mon.next_id += int(rng.integers(1, 40))
        phantom = {**template, "id": _base36(mon.next_id), "author": members[author].name}
        phantom.update(body=comment_body(mon, author), is_submitter=False)
        line = json.dumps(phantom, separators=(",", ":"))
        if kind == "truncated":
            out.append(line[: int(len(line) * rng.uniform(0.2, 0.8))])
        elif kind == "not_json":
            out.append(vocab.NOT_JSON_LINE)
        elif kind == "array":
            out.append("[" + line + "]")
        else:
            out.append(
                json.dumps({k: v for k, v in phantom.items() if k != "id"}, separators=(",", ":"))
            )
    return out


def _insert_malformed(rng: np.random.Generator, lines: list[str], bad: list[str]) -> list[int]:
    """Inserts `bad` at random places; returns their 1-based line numbers."""
    slots = sorted(int(i) for i in rng.choice(len(lines) + len(bad), len(bad), replace=False))
    for slot, line in zip(slots, bad, strict=True):
        lines.insert(slot, line)
    return [s + 1 for s in slots]


def _write_zst(path: Path, lines: list[str]) -> None:
    """Single-threaded zstd with a 2 GiB window and no content size: deterministic bytes."""
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, window_log=ZSTD_WINDOW_LOG, write_content_size=False, threads=0
    )
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as fh:
        with zstandard.ZstdCompressor(compression_params=params).stream_writer(fh) as writer:
            writer.write(data)


def _month_truth(mon: Month) -> dict:
    comments = mon.comments
    owned = [t for t in mon.threads if t["kind"] == "thread" and t["owner"] is not None]
    truth = {"thread_owner": {t["id"]: t["owner"] for t in owned}, "malformed_lines": {}}
    truth["preferences"] = {t["id"]: _preferences(mon, t) for t in owned}
    for key, kinds in (("removed", ("removed",)), ("duplicates", ("duplicate",))):
        truth[key] = [c["id"] for c in comments if c["kind"] in kinds]
    truth["refetched_deleted"] = [c["id"] for c in comments if c["refetched"]]
    truth["deleted"] = [c["id"] for c in comments if c["kind"] in ("deleted", "removed")]
    truth["deleted"] += truth["refetched_deleted"]
    bots = sum(c["kind"] in ("automod", "spam") for c in comments)
    truth["bot_rows"] = bots + sum(t["kind"] == "automod" for t in mon.threads)
    return truth


def _preferences(mon: Month, thread: dict) -> dict[str, float]:
    pairs = zip(thread["options"], thread["p"], strict=True)
    return {mon.comments[c]["id"]: round(float(p), 6) for c, p in pairs}


def _write_month(out_dir: Path, mon: Month) -> dict:
    """Writes RS/RC for one month; returns that month's truth and counts."""
    _assign_ids(mon)
    submissions, comments = _records(mon)
    rs_lines, rc_lines = _lines(mon.rng, submissions), _lines(mon.rng, comments)
    rs_name, rc_name = f"RS_2026-{mon.index:02d}.zst", f"RC_2026-{mon.index:02d}.zst"
    truth = _month_truth(mon)
    if mon.index == 1:
        bad = _malformed(mon, comments[len(comments) // 2])
        truth["malformed_lines"][rc_name] = _insert_malformed(mon.rng, rc_lines, bad)
    _write_zst(out_dir / rs_name, rs_lines)
    _write_zst(out_dir / rc_name, rc_lines)
    truth |= {"files": [rs_name, rc_name], "submissions": len(submissions)}
    return truth | {"comments": len(mon.comments), "comment_lines": len(rc_lines)}


def _merge_truth(
    world: World, seed: int, scale: float, parts: list[dict], profile: str = "easy"
) -> dict:
    truth = {"version": DEMO_FORUM_VERSION, "seed": seed, "scale": scale, "months": len(parts)}
    if profile != "easy":  # the easy truth.json stays byte-identical to the first generator's
        truth |= {"profile": profile, "knobs": realistic.KNOBS}
    truth["bots"] = list(BOTS)
    truth["members"] = {m.name: m.community for m in world.members}  # None: unaffiliated
    truth["communities"] = {c: dict(info) for c, info in world.communities.items()}
    for key in ("thread_owner", "preferences", "malformed_lines"):
        truth[key] = {k: v for part in parts for k, v in part[key].items()}
    for key in ("removed", "refetched_deleted", "duplicates", "deleted"):
        truth[key] = sorted(i for part in parts for i in part[key])
    return truth


def _summary(out_dir: Path, truth: dict, parts: list[dict], world: World) -> dict:
    total = {k: sum(p[k] for p in parts) for k in ("submissions", "comments", "comment_lines")}
    counts = {k: len(truth[k]) for k in ("deleted", "removed", "refetched_deleted", "duplicates")}
    return {
        "out_dir": str(out_dir),
        "files": [f for p in parts for f in p["files"]] + ["truth.json"],
        "seed": truth["seed"],
        "scale": truth["scale"],
        "profile": truth.get("profile", "easy"),
        "months": truth["months"],
        "subreddits": list(world.subreddits),
        "communities": len(world.by_community),
        "members": len(world.members),
        **total,
        "threads_with_preferences": len(truth["preferences"]),
        "bot_rows": sum(p["bot_rows"] for p in parts),
        **counts,
        "malformed": sum(len(v) for v in truth["malformed_lines"].values()),
    }


def write_demo_forum(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    months: int = 1,
    profile: str = "easy",
    progress: bool = False,
) -> dict:
    """Writes the demo forum dumps and truth.json into `out_dir`, deterministically.

    Args:
        out_dir: Folder to write into (created if missing). Demo dumps of months beyond
            `months` left there by an earlier call are removed, so the folder holds one forum.
        seed: Seeds every random draw; the same arguments give byte-identical files.
        scale: Multiplies members (~600 at 1.0) and threads.
        months: 1-12; month 1 is January 2026, each later month adds ~10% more threads by
            the same members. Month 1 files do not depend on `months`.
        profile: "easy" (communities separable by their own vocabulary, every member in one,
            at least 5 comments each) or "realistic" (heavy-tailed activity, unaffiliated
            members, sibling communities sharing their subreddit's topics and differing in
            stance, tone and whom they reply to; see `realistic.py`).
        progress: Print one line per month to stderr.

    Returns:
        A summary: files written and counts of submissions, comments, members, communities,
        bot rows, deleted, removed, refetched-deleted, duplicates and malformed lines.
    """
    if not 1 <= months <= 12:
        raise ValueError(f"months must be 1..12 (one demo year, 2026), got {months}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    make, generate = (
        (make_world, generate_month)
        if profile == "easy"
        else (realistic.make_world, realistic.generate_month)
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in range(months + 1, 13):
        for prefix in ("RS", "RC"):
            (out_dir / f"{prefix}_2026-{stale:02d}.zst").unlink(missing_ok=True)
    world = make(seed, scale)
    parts = []
    for month in range(1, months + 1):
        parts.append(_write_month(out_dir, generate(world, seed, month)))
        if progress:
            print(
                f"demo forum: 2026-{month:02d}: {parts[-1]['submissions']} submissions, "
                f"{parts[-1]['comments']} comments",
                file=sys.stderr,
            )
    truth = _merge_truth(world, seed, scale, parts, profile)
    (out_dir / "truth.json").write_text(json.dumps(truth, sort_keys=True, indent=1) + "\n")
    return _summary(out_dir, truth, parts, world)
