"""The demo forum's world: its members and what they write, month by month (no files).

`make_world` draws the members (stream 0 of `numpy.random.default_rng([seed, stream])`): each
belongs to one planted community of one subreddit and has an activity, a mood and a voice.
`generate_month` draws month m from stream m: threads owned by a community with planted
preferences over their top-level replies, AutoModerator and spam rows, deleted, removed,
later-deleted and duplicate comments. `forum.py` turns a month into dump records and files.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field

import numpy as np

from communitybench.sources.demo import vocab

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
COMMUNITIES = {c: s for s, sub in vocab.SUBREDDITS.items() for c in sub["communities"]}


@dataclass
class Member:
    name: str
    community: str | None  # None: an unaffiliated member (realistic profile)
    activity: float  # easy: a weight; realistic: the month-1 comment target
    mood: np.ndarray  # probabilities of a positive, neutral, negative comment
    voice: dict  # what compose_comment needs: community words, subreddit words, favourites


@dataclass
class World:
    subreddits: list[str]
    members: list[Member]
    by_community: dict[str, list[int]]
    id_offset: int
    bodies: set[str] = field(default_factory=set)
    communities: dict[str, dict] = field(default_factory=dict)  # {subreddit, theme} each
    by_subreddit: dict[str, list[int]] = field(default_factory=dict)  # every member, by home


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


def _new_member(rng: np.random.Generator, name: str, comm: str) -> Member:
    sub = COMMUNITIES[comm]
    words = vocab.SUBREDDITS[sub]["communities"][comm]
    favorites = tuple(int(i) for i in rng.choice(len(words["topics"]), 5, replace=False))
    voice = {"community": words, "shared": vocab.SUBREDDITS[sub]["shared"], "favorites": favorites}
    return Member(name, comm, float(rng.lognormal(0, 0.5)), rng.dirichlet([3, 2.5, 2]), voice)


def make_world(seed: int, scale: float) -> World:
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
    world = World(subs, members, by_community, int(rng.integers(0, 36**4)))
    for comm in by_community:
        theme = vocab.SUBREDDITS[COMMUNITIES[comm]]["communities"][comm]["theme"]
        world.communities[comm] = {"subreddit": COMMUNITIES[comm], "theme": theme}
    for sub in subs:
        world.by_subreddit[sub] = [
            i for c, p in by_community.items() if COMMUNITIES[c] == sub for i in p
        ]
    return world


def comment_body(mon: Month, author: int) -> str:
    """A fresh comment body; bodies never repeat by accident (only planted duplicates do)."""
    m = mon.world.members[author]
    compose = vocab.compose_voiced if "tone" in m.voice else vocab.compose_comment
    sentiment = str(mon.rng.choice(["pos", "neu", "neg"], p=m.mood))
    text = compose(mon.rng, m.voice, sentiment)
    while text in mon.world.bodies:
        text = compose(mon.rng, m.voice, "neu")
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
        body = comment_body(mon, author)
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


# Exposure planted on observed votes (DESIGN.md "Exposure"): early replies are seen by more
# voters. Real threads: the earliest option was the top-voted one in 57-78% of PI instances.
EXPOSURE_TAU_H = 1.0  # exposure falls by e with every hour of delay after the submission...
EXPOSURE_RANK_POWER = 0.5  # ...and as (1 + rank)^-0.5 with the reply's rank by posting time
EXPOSURE_LENGTH_POWER = 0.1  # a mild length effect: (length / thread mean)^0.1


def planted_exposure(delays_s, lengths) -> np.ndarray:
    """Relative exposure of a thread's top-level replies (their delays and body lengths).

    exp(-delay_h / EXPOSURE_TAU_H) * (1 + rank)^-EXPOSURE_RANK_POWER * (length / mean)^0.1,
    rank = 0-based order by delay (ties by position); the largest is scaled to 1.
    """
    delays, lengths = np.asarray(delays_s, dtype=float), np.asarray(lengths, dtype=float)
    rank = np.empty(len(delays))
    rank[np.argsort(delays, kind="stable")] = np.arange(len(delays))
    exposure = np.exp(-delays / HOUR / EXPOSURE_TAU_H) * (1.0 + rank) ** -EXPOSURE_RANK_POWER
    exposure *= (lengths / lengths.mean()) ** EXPOSURE_LENGTH_POWER
    return exposure / exposure.max()


def _plant_preferences(mon: Month, thread: dict) -> None:
    """Dirichlet(ALPHA) intrinsic preferences; scores = 1 + Multinomial(V, p * exposure).

    The largest shares tend to go to owner-community replies (community-specific, so a
    community-agnostic baseline cannot exploit it), with enough noise that outsiders win too.
    The observed votes also follow exposure (`planted_exposure`, from the posting times already
    drawn), so they are biased towards early replies; ``thread["p"]`` (truth) stays intrinsic.
    """
    rng, opts = mon.rng, thread["options"]
    draws = np.sort(rng.dirichlet(np.full(len(opts), ALPHA)))[::-1]
    own = [mon.world.members[mon.comments[c]["author"]].community == thread["owner"] for c in opts]
    fit = np.array(own, dtype=float) + rng.normal(0, 0.75, len(opts))
    probs = np.empty(len(opts))
    probs[np.argsort(-fit, kind="stable")] = draws
    exposure = planted_exposure(
        [mon.comments[c]["created"] - thread["created"] for c in opts],
        [len(mon.comments[c]["body"]) for c in opts],
    )
    observed = probs * exposure
    votes = rng.multinomial(int(rng.integers(150, 401)), observed / observed.sum())
    for cid, count in zip(opts, votes, strict=True):
        mon.comments[cid]["score"] = 1 + int(count)
    thread["p"] = probs
    thread["exposure"] = exposure


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


def generate_month(world: World, seed: int, month: int) -> Month:
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
