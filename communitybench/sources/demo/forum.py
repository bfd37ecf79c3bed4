"""Deterministic demo forum: Pushshift-style monthly dumps with planted ground truth.

`write_demo_forum` writes RS_2026-MM.zst (submissions) and RC_2026-MM.zst (comments), NDJSON
compressed with a 2 GiB zstd window like real Pushshift dumps, plus truth.json: which community
each member belongs to, which community owns each thread, the planted preference distribution
over each thread's top-level replies, and every planted noise row (bots, deleted, removed,
duplicates, malformed lines, later "[deleted]" observations). It is the pipeline's no-network
default source and the ground truth that checks what the pipeline recovers.

Every draw comes from `numpy.random.default_rng([seed, stream])`: stream 0 builds the members,
stream m builds month m, so month 1 is byte-identical whether one or more months are written.
What members write (vocabularies, templates, usernames) lives in
`communitybench.sources.demo.vocab`.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zstandard

from communitybench.sources.demo import vocab

DEMO_FORUM_VERSION = "demo_forum_v1"
AUTOMOD, DELETED = "AutoModerator", "[deleted]"
BOTS = [AUTOMOD, vocab.SPAM_BOT]
MEMBERS_AT_SCALE_1 = 600
MIN_COMMUNITY_SIZE = 10
SUBREDDITS_PER_FORUM = 3
THREADS_PER_MEMBER = 0.75  # ~8 member comments a thread -> ~6 comments a member in month 1
MONTH_GROWTH = 0.10  # every later month adds ~10% of month 1
MIN_COMMENTS = 5  # clean comments every member writes in month 1 (enough to embed them)
ALPHA = 0.7  # Dirichlet concentration of planted preferences: most threads have a favourite
RATE = {"outsider": 0.15, "deleted": 0.03, "removed": 0.02, "refetched": 0.011}
RATE |= {"duplicate": 0.011, "spam": 0.04, "automod": 0.97, "string_time": 0.03}
HOUR, DAY = 3600, 86_400
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
COMMUNITIES = {c: s for s, sub in vocab.SUBREDDITS.items() for c in sub["communities"]}


@dataclass
class Member:
    name: str
    community: str
    activity: float
    mood: np.ndarray  # probabilities of a positive, neutral, negative comment
    voice: dict  # what compose_comment needs: community words, subreddit words, favourites


@dataclass
class World:
    subreddits: list[str]
    members: list[Member]
    by_community: dict[str, list[int]]
    id_offset: int
    bodies: set[str] = field(default_factory=set)


@dataclass
class Month:
    world: World
    index: int
    rng: np.random.Generator
    start: int
    end: int
    counts: np.ndarray  # clean normal comments per member
    threads: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    next_id: int = 0


def _base36(number: int) -> str:
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[rem] + out
    return out or "0"


def _new_member(rng: np.random.Generator, name: str, comm: str) -> Member:
    sub = COMMUNITIES[comm]
    words = vocab.SUBREDDITS[sub]["communities"][comm]
    favorites = tuple(int(i) for i in rng.choice(len(words["topics"]), 5, replace=False))
    voice = {"community": words, "shared": vocab.SUBREDDITS[sub]["shared"], "favorites": favorites}
    return Member(name, comm, float(rng.lognormal(0, 0.5)), rng.dirichlet([3, 2.5, 2]), voice)


def _make_world(seed: int, scale: float) -> World:
    """Picks the subreddits and draws every member, with community sizes varying +-30%."""
    rng = np.random.default_rng([seed, 0])
    pool = list(vocab.SUBREDDITS)
    subs = [pool[i] for i in sorted(rng.choice(len(pool), SUBREDDITS_PER_FORUM, replace=False))]
    comms = [c for s in subs for c in vocab.SUBREDDITS[s]["communities"]]
    weights = rng.uniform(0.7, 1.3, len(comms))
    sizes = np.round(weights / weights.sum() * MEMBERS_AT_SCALE_1 * scale).astype(int)
    members: list[Member] = []
    by_community: dict[str, list[int]] = {}
    names = set(BOTS)
    for comm, size in zip(comms, np.maximum(sizes, MIN_COMMUNITY_SIZE), strict=True):
        by_community[comm] = list(range(len(members), len(members) + size))
        for _ in range(size):
            name = vocab.make_username(rng)
            while name in names:
                name = vocab.make_username(rng)
            names.add(name)
            members.append(_new_member(rng, name, comm))
    return World(subs, members, by_community, int(rng.integers(0, 36**4)))


def _body(mon: Month, author: int) -> str:
    """A fresh comment body; bodies never repeat by accident (only planted duplicates do)."""
    m = mon.world.members[author]
    sentiment = str(mon.rng.choice(["pos", "neu", "neg"], p=m.mood))
    text = vocab.compose_comment(mon.rng, m.voice, sentiment)
    while text in mon.world.bodies:
        text = vocab.compose_comment(mon.rng, m.voice, "neu")
    mon.world.bodies.add(text)
    return text


def _add_comment(
    mon: Month,
    thread: dict,
    parent: int | None,
    author: int | str,
    kind: str,
    after: tuple[int, int],
    score: tuple[int, int] = (1, 2),
) -> int:
    """Appends a comment `after` seconds past its parent (or thread); returns its row index.

    `author` is a member index, or a literal name for bots and deleted rows.
    """
    rng = mon.rng
    base = thread["created"] if parent is None else mon.comments[parent]["created"]
    if kind == "normal":
        body = _body(mon, author)
        mon.counts[author] += 1
    elif kind == "automod":
        body = vocab.AUTOMOD_COMMENT.format(sub=thread["subreddit"])
    else:
        body = {"spam": vocab.SPAM_BODY, "deleted": DELETED, "removed": "[removed]"}[kind]
    row = {"thread": thread["tid"], "parent": parent, "author": author, "kind": kind}
    row |= {"created": base + int(rng.integers(*after)), "body": body, "refetched": False}
    row["score"] = int(rng.integers(*score))
    mon.comments.append(row)
    thread["rows"].append(len(mon.comments) - 1)
    return len(mon.comments) - 1


def _choose(mon: Month, pool: list[int], n: int) -> list[int]:
    """n distinct members by activity; in month 1 those short of their quota are favoured."""
    w = np.array([mon.world.members[i].activity for i in pool])
    if mon.index == 1:
        w = w * np.where(mon.counts[pool] < MIN_COMMENTS, 4.0, 1.0)
    picks = mon.rng.choice(len(pool), min(n, len(pool)), replace=False, p=w / w.sum())
    return [pool[int(i)] for i in picks]


def _new_thread(mon: Month, kind: str, sub: str, author: int | str, created: int) -> dict:
    if kind == "automod":
        title = vocab.AUTOMOD_TITLE.format(date=time.strftime("%Y-%m-%d", time.gmtime(created)))
        selftext = vocab.AUTOMOD_SELFTEXT.format(sub=sub)
    else:
        title, selftext = vocab.compose_thread(mon.rng, mon.world.members[author].voice)
    thread = {"tid": len(mon.threads), "kind": kind, "subreddit": sub, "author": author}
    thread |= {"title": title, "selftext": selftext, "created": created, "rows": []}
    thread |= {"score": int(mon.rng.integers(1, 400 if kind == "thread" else 6))}
    thread |= {"owner": None, "options": [], "p": None}
    mon.threads.append(thread)
    return thread


def _plant_preferences(mon: Month, thread: dict) -> None:
    """Dirichlet(ALPHA) preferences; scores = 1 + Multinomial(V, p) with V in 150..400.

    The largest shares tend to go to owner-community replies (community-specific, so a
    community-agnostic baseline cannot exploit it), with enough noise that outsiders win too.
    """
    rng, opts = mon.rng, thread["options"]
    draws = np.sort(rng.dirichlet(np.full(len(opts), ALPHA)))[::-1]
    own = [mon.world.members[mon.comments[c]["author"]].community == thread["owner"] for c in opts]
    fit = np.array(own, dtype=float) + rng.normal(0, 0.75, len(opts))
    probs = np.empty(len(opts))
    probs[np.argsort(-fit, kind="stable")] = draws
    votes = rng.multinomial(int(rng.integers(150, 401)), probs / probs.sum())
    for cid, count in zip(opts, votes, strict=True):
        mon.comments[cid]["score"] = 1 + int(count)
    thread["p"] = probs


def _add_thread(mon: Month, comm: str) -> None:
    """A question by an owner member with 3-8 top-level replies within 3 hours, then noise."""
    rng, world = mon.rng, mon.world
    op = _choose(mon, world.by_community[comm], 1)[0]
    thread = _new_thread(
        mon, "thread", COMMUNITIES[comm], op, int(rng.integers(mon.start, mon.end - 4 * DAY))
    )
    thread["owner"] = comm
    k = int(rng.integers(3, 9))
    n_out = min(int(rng.binomial(k, RATE["outsider"])), k // 4)  # keeps owners >= 75%
    own = [i for i in world.by_community[comm] if i != op]
    others = [
        i
        for c, pool in world.by_community.items()
        if c != comm and COMMUNITIES[c] == thread["subreddit"]
        for i in pool
    ]
    for author in _choose(mon, own, k - n_out) + _choose(mon, others, n_out):
        thread["options"].append(_add_comment(mon, thread, None, author, "normal", (60, 3 * HOUR)))
    _plant_preferences(mon, thread)
    if rng.random() < RATE["automod"]:
        _add_comment(mon, thread, None, AUTOMOD, "automod", (1, 30))
    _add_gone_rows(mon, thread)
    _add_nested(mon, thread)


def _add_gone_rows(mon: Month, thread: dict) -> None:
    """Comments whose only observation is already [deleted] or [removed]."""
    rng, opts = mon.rng, thread["options"]
    kinds = ["deleted"] * int(rng.binomial(2 * len(opts), RATE["deleted"]))
    kinds += ["removed"] * int(rng.binomial(2 * len(opts), RATE["removed"]))
    for kind in kinds:
        parent = None if rng.random() < 0.4 else opts[int(rng.integers(len(opts)))]
        _add_comment(mon, thread, parent, DELETED, kind, (60, 6 * HOUR), (-4, 6))


def _add_nested(mon: Month, thread: dict) -> None:
    """1-4 replies to earlier rows, by the OP (is_submitter) or owner-community members."""
    rng, own = mon.rng, mon.world.by_community[thread["owner"]]
    for _ in range(int(rng.integers(1, 5))):
        rows = [r for r in thread["rows"] if mon.comments[r]["kind"] != "automod"]
        parent = rows[int(rng.integers(len(rows)))]
        parent_author = mon.comments[parent]["author"]
        author = thread["author"]
        if rng.random() > 0.3 or parent_author == author:
            author = _choose(mon, [i for i in own if i != parent_author], 1)[0]
        _add_comment(mon, thread, parent, author, "normal", (300, 8 * HOUR), (-2, 16))


def _add_automod_threads(mon: Month) -> None:
    """Two stickied AutoModerator question threads per subreddit, answered by anyone there."""
    rng, world = mon.rng, mon.world
    for sub in world.subreddits:
        pool = [i for c, p in world.by_community.items() if COMMUNITIES[c] == sub for i in p]
        for day in (3, 17):
            created = mon.start + (day - 1) * DAY + 14 * HOUR + int(rng.integers(0, 600))
            thread = _new_thread(mon, "automod", sub, AUTOMOD, created)
            for author in _choose(mon, pool, int(rng.integers(3, 7))):
                _add_comment(mon, thread, None, author, "normal", (60, DAY), (1, 20))


def _add_spam(mon: Month) -> None:
    """The spam bot posts one identical body in many threads (>= 16 in month 1)."""
    owned = [t for t in mon.threads if t["kind"] == "thread"]
    n = round(RATE["spam"] * len(owned))
    n = min(len(owned), max(16, n) if mon.index == 1 else n)
    for i in sorted(mon.rng.choice(len(owned), n, replace=False)):
        _add_comment(mon, owned[int(i)], None, vocab.SPAM_BOT, "spam", (600, 6 * HOUR), (-6, 2))


def _sample_clean(mon: Month, rate: float) -> list[int]:
    """Clean normal comments, each with probability `rate` (at least 2 in month 1)."""
    clean = [i for i, c in enumerate(mon.comments) if c["kind"] == "normal" and not c["refetched"]]
    n = max(int(mon.rng.binomial(len(clean), rate)), 2 if mon.index == 1 else 0)
    return [clean[int(i)] for i in sorted(mon.rng.choice(len(clean), n, replace=False))]


def _mark_refetched(mon: Month) -> None:
    """Normal comments that a later observation in the same file shows as [deleted]."""
    for idx in _sample_clean(mon, RATE["refetched"]):
        mon.comments[idx]["refetched"] = True
        mon.counts[mon.comments[idx]["author"]] -= 1


def _top_up(mon: Month) -> None:
    """Month 1: every member reaches MIN_COMMENTS clean comments (replies in own threads)."""
    rng = mon.rng
    for comm, pool in mon.world.by_community.items():
        threads = [t for t in mon.threads if t["owner"] == comm]
        for member in pool:
            while mon.counts[member] < MIN_COMMENTS:
                thread = threads[int(rng.integers(len(threads)))]
                opts = [c for c in thread["options"] if mon.comments[c]["author"] != member]
                parent = opts[int(rng.integers(len(opts)))]
                _add_comment(mon, thread, parent, member, "normal", (300, 8 * HOUR), (-1, 12))


def _add_duplicates(mon: Month) -> None:
    """A member posts the same body again in the same thread, under a new id."""
    for idx in _sample_clean(mon, RATE["duplicate"]):
        orig = mon.comments[idx]
        dup = {
            **orig,
            "kind": "duplicate",
            "created": orig["created"] + int(mon.rng.integers(20, 600)),
        }
        dup["score"] = int(mon.rng.integers(0, 3))
        mon.comments.append(dup)
        mon.threads[orig["thread"]]["rows"].append(len(mon.comments) - 1)


def _generate_month(world: World, seed: int, month: int) -> Month:
    start = calendar.timegm((2026, month, 1, 0, 0, 0))
    end = calendar.timegm((2026 + month // 12, month % 12 + 1, 1, 0, 0, 0))
    rng = np.random.default_rng([seed, month])
    mon = Month(world, month, rng, start, end, np.zeros(len(world.members), dtype=int))
    growth = 1.0 if month == 1 else MONTH_GROWTH
    for comm, pool in world.by_community.items():
        expected = len(pool) * THREADS_PER_MEMBER * growth
        n = int(expected) + int(rng.random() < expected - int(expected))
        for _ in range(max(n, 1) if month == 1 else n):
            _add_thread(mon, comm)
    _add_automod_threads(mon)
    _add_spam(mon)
    _mark_refetched(mon)
    if month == 1:
        _top_up(mon)
    _add_duplicates(mon)
    return mon


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
        phantom.update(body=_body(mon, author), is_submitter=False)
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
    comments, owned = mon.comments, [t for t in mon.threads if t["kind"] == "thread"]
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


def _merge_truth(world: World, seed: int, scale: float, parts: list[dict]) -> dict:
    truth = {"version": DEMO_FORUM_VERSION, "seed": seed, "scale": scale, "months": len(parts)}
    truth["bots"] = list(BOTS)
    truth["members"] = {m.name: m.community for m in world.members}
    truth["communities"] = {
        c: {
            "subreddit": COMMUNITIES[c],
            "theme": vocab.SUBREDDITS[COMMUNITIES[c]]["communities"][c]["theme"],
        }
        for c in world.by_community
    }
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
    out_dir: Path, *, seed: int = 7, scale: float = 1.0, months: int = 1, progress: bool = False
) -> dict:
    """Writes the demo forum dumps and truth.json into `out_dir`, deterministically.

    Args:
        out_dir: Folder to write into (created if missing). Demo dumps of months beyond
            `months` left there by an earlier call are removed, so the folder holds one forum.
        seed: Seeds every random draw; the same arguments give byte-identical files.
        scale: Multiplies members (~600 at 1.0) and threads.
        months: 1-12; month 1 is January 2026, each later month adds ~10% more threads by
            the same members. Month 1 files do not depend on `months`.
        progress: Print one line per month to stderr.

    Returns:
        A summary: files written and counts of submissions, comments, members, communities,
        bot rows, deleted, removed, refetched-deleted, duplicates and malformed lines.
    """
    if not 1 <= months <= 12:
        raise ValueError(f"months must be 1..12 (one demo year, 2026), got {months}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in range(months + 1, 13):
        for prefix in ("RS", "RC"):
            (out_dir / f"{prefix}_2026-{stale:02d}.zst").unlink(missing_ok=True)
    world = _make_world(seed, scale)
    parts = []
    for month in range(1, months + 1):
        parts.append(_write_month(out_dir, _generate_month(world, seed, month)))
        if progress:
            print(
                f"demo forum: 2026-{month:02d}: {parts[-1]['submissions']} submissions, "
                f"{parts[-1]['comments']} comments",
                file=sys.stderr,
            )
    truth = _merge_truth(world, seed, scale, parts)
    (out_dir / "truth.json").write_text(json.dumps(truth, sort_keys=True, indent=1) + "\n")
    return _summary(out_dir, truth, parts, world)
