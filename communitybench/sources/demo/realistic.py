"""The demo forum's realistic profile: communities that share their subreddit's topics.

Same streams as `world.py` (`numpy.random.default_rng([seed, stream])`: 0 the members, m month m)
and the same subreddits for a seed, but a harder world:

- activity is heavy-tailed: a member's month-1 comment target is ceil(lognormal(ACTIVITY)),
  capped at MAX_COMMENTS, so most authors write 1-2 comments and a quarter write 5 or more;
- UNAFFILIATED of the members belong to no community (they still post in one home subreddit);
- the communities of a subreddit write with the same topic words (`vocab.shared_words`) and
  differ in which side of the subreddit's debates they take (`vocab.side_phrase`, ADHERENCE)
  and in tone (mood, hedged or blunt, length; `vocab.compose_voiced`);
- whom they reply to: an affiliated member's reply goes to a thread its community owns with
  probability HOME and answers a member of its own community (when one wrote there) with
  probability HOMOPHILY; unaffiliated members reply anywhere in their subreddit.

Owned threads keep everything the pipeline relies on: 3-8 top-level replies (at least 75% by the
owner community, the rest by other members of the subreddit) posted minutes to 3 hours after the
submission, preferences planted by `world._plant_preferences`, AutoModerator notices, deleted and
removed rows. Open threads (owner None, no preferences) are started by anyone. Spam, refetched
and duplicate rows come from the same functions as the easy profile.
"""

from __future__ import annotations

import calendar

import numpy as np

from communitybench.sources.demo import vocab
from communitybench.sources.demo.world import (
    AUTOMOD,
    BOTS,
    DAY,
    HOUR,
    MIN_COMMUNITY_SIZE,
    MONTH_GROWTH,
    RATE,
    SUBREDDITS_PER_FORUM,
    Member,
    Month,
    World,
    _add_comment,
    _add_duplicates,
    _add_gone_rows,
    _add_spam,
    _mark_refetched,
    _new_thread,
    _plant_preferences,
)

AUTHORS_AT_SCALE_1 = 2200
UNAFFILIATED = 0.25  # share of members in no community
ACTIVITY = (0.4, 1.1)  # mu, sigma of the lognormal month-1 comment target
MAX_COMMENTS = 15
ADHERENCE = 0.9  # a stance takes the member's community side
HOME = 0.85  # an affiliated reply goes to a thread its community owns
HOMOPHILY = 0.9  # ...and answers its own community when it can
OPEN_HOME = 0.6  # an unaffiliated reply goes to an open thread
COMMENTS_PER_OWNED_THREAD = 10
COMMENTS_PER_OPEN_THREAD = 8
OP_REPLY = 0.5  # the submitter answers one of the top-level replies
FIRST_REPLY_MINUTES = 45  # median delay of a top-level reply in an owned thread (up to 3 h)
EPS = 0.01  # choice weight of members already at their target
COMMUNITIES = {c: s for s, sub in vocab.REALISTIC.items() for c in sub["communities"]}
KNOBS = {
    "authors_at_scale_1": AUTHORS_AT_SCALE_1,
    "unaffiliated": UNAFFILIATED,
    "activity_lognormal": list(ACTIVITY),
    "max_comments": MAX_COMMENTS,
    "adherence": ADHERENCE,
    "home": HOME,
    "homophily": HOMOPHILY,
    "open_home": OPEN_HOME,
    "outsider": RATE["outsider"],
}


def _voice(rng: np.random.Generator, sub: str, comm: str | None, tone: dict) -> dict:
    words = dict(vocab.shared_words(sub))
    debates = vocab.REALISTIC[sub]["debates"]
    sides = vocab.REALISTIC[sub]["communities"][comm]["sides"] if comm else None
    own = [p for d, debate in enumerate(debates) for p in debate[sides[d] if sides else "a"]]
    if not sides:
        own += [p for debate in debates for p in debate["b"]]
    words["stances"] = tuple(own)  # what their thread titles and contexts argue
    favorites = tuple(int(i) for i in rng.choice(len(words["topics"]), 5, replace=False))
    return {
        "community": words,
        "shared": vocab.SUBREDDITS[sub]["shared"],
        "favorites": favorites,
        "debates": debates,
        "sides": sides,
        "adherence": ADHERENCE,
        "tone": tone,
        "subreddit": sub,
    }


def _new_member(rng: np.random.Generator, name: str, sub: str, comm: str | None) -> Member:
    target = min(MAX_COMMENTS, int(np.ceil(rng.lognormal(*ACTIVITY))))
    if comm:
        spec = vocab.REALISTIC[sub]["communities"][comm]
        tone = {k: spec[k] for k in ("hedge", "sentences", "stance")}
        mood = rng.dirichlet(20 * np.array(spec["mood"]))
    else:
        tone = {"hedge": float(rng.uniform(0.2, 0.8)), "sentences": (1, 3), "stance": 0.5}
        mood = rng.dirichlet([3, 2.5, 2])
    return Member(name, comm, float(target), mood, _voice(rng, sub, comm, tone))


def make_world(seed: int, scale: float) -> World:
    """The same subreddits as the easy profile for `seed`; ~2,200 members at scale 1."""
    rng = np.random.default_rng([seed, 0])
    pool = list(vocab.SUBREDDITS)
    subs = [pool[i] for i in sorted(rng.choice(len(pool), SUBREDDITS_PER_FORUM, replace=False))]
    groups = [(s, c) for s in subs for c in vocab.REALISTIC[s]["communities"]]
    groups += [(s, None) for s in subs]
    n_comm = len(groups) - len(subs)
    weights = rng.uniform(0.7, 1.3, len(groups))
    weights[:n_comm] *= (1 - UNAFFILIATED) / weights[:n_comm].sum()
    weights[n_comm:] *= UNAFFILIATED / weights[n_comm:].sum()
    sizes = np.round(weights * AUTHORS_AT_SCALE_1 * scale).astype(int)
    members: list[Member] = []
    by_community: dict[str, list[int]] = {}
    by_subreddit: dict[str, list[int]] = {s: [] for s in subs}
    names = set(BOTS)
    for (sub, comm), size in zip(groups, np.maximum(sizes, MIN_COMMUNITY_SIZE), strict=True):
        idx = list(range(len(members), len(members) + size))
        if comm:
            by_community[comm] = idx
        by_subreddit[sub] += idx
        for _ in range(size):
            name = vocab.make_username(rng)
            while name in names:
                name = vocab.make_username(rng)
            names.add(name)
            members.append(_new_member(rng, name, sub, comm))
    world = World(subs, members, by_community, int(rng.integers(0, 36**4)))
    world.by_subreddit = {s: sorted(v) for s, v in by_subreddit.items()}
    for comm in by_community:
        spec = vocab.REALISTIC[COMMUNITIES[comm]]["communities"][comm]
        world.communities[comm] = {"subreddit": COMMUNITIES[comm], "theme": spec["theme"]}
        world.communities[comm]["sides"] = spec["sides"]  # a/b per debate of the subreddit
    return world


def _pick(mon: Month, quota: np.ndarray, pool: list[int], n: int) -> list[int]:
    """n distinct members of `pool`, weighted by the comments they still have to write."""
    if n <= 0 or not pool:
        return []
    w = np.maximum(quota[pool], 0) + EPS
    picks = mon.rng.choice(len(pool), min(n, len(pool)), replace=False, p=w / w.sum())
    return [pool[int(i)] for i in picks]


def _write(mon: Month, quota, thread, parent, author, after, score=(1, 2)) -> int:
    quota[author] -= 1
    return _add_comment(mon, thread, parent, author, "normal", after, score)


def _owned_thread(mon: Month, quota: np.ndarray, comm: str) -> dict:
    rng, world = mon.rng, mon.world
    sub, pool = COMMUNITIES[comm], world.by_community[comm]
    op = _pick(mon, quota, pool, 1)[0]
    created = int(rng.integers(mon.start, mon.end - 4 * DAY))
    thread = _new_thread(mon, "thread", sub, op, created)
    thread["owner"] = comm
    k = int(rng.integers(3, 9))
    n_out = min(int(rng.binomial(k, RATE["outsider"])), k // 4)  # keeps owners >= 75%
    own = [i for i in pool if i != op]
    others = [i for i in world.by_subreddit[sub] if world.members[i].community != comm]
    for author in _pick(mon, quota, own, k - n_out) + _pick(mon, quota, others, n_out):
        delay = rng.lognormal(np.log(FIRST_REPLY_MINUTES * 60), 0.9)
        delay = int(np.clip(delay, 60, 3 * HOUR - 1))
        thread["options"].append(_write(mon, quota, thread, None, author, (delay, delay + 1)))
    _plant_preferences(mon, thread)
    if rng.random() < RATE["automod"]:
        _add_comment(mon, thread, None, AUTOMOD, "automod", (1, 30))
    _add_gone_rows(mon, thread)
    if quota[op] > 0 and rng.random() < OP_REPLY:
        parent = thread["options"][int(rng.integers(len(thread["options"])))]
        _write(mon, quota, thread, parent, op, (300, 8 * HOUR), (-2, 16))
    return thread


def _open_thread(mon: Month, quota: np.ndarray, sub: str) -> dict:
    rng, pool = mon.rng, mon.world.by_subreddit[sub]
    op = _pick(mon, quota, pool, 1)[0]
    created = int(rng.integers(mon.start, mon.end - 4 * DAY))
    thread = _new_thread(mon, "thread", sub, op, created)
    for author in _pick(mon, quota, [i for i in pool if i != op], int(rng.integers(1, 4))):
        _write(mon, quota, thread, None, author, (60, 6 * HOUR), (1, 30))
    return thread


def _automod_threads(mon: Month, quota: np.ndarray) -> None:
    """Two stickied AutoModerator question threads per subreddit, answered by anyone there."""
    rng = mon.rng
    for sub in mon.world.subreddits:
        for day in (3, 17):
            created = mon.start + (day - 1) * DAY + 14 * HOUR + int(rng.integers(0, 600))
            thread = _new_thread(mon, "automod", sub, AUTOMOD, created)
            n = int(rng.integers(3, 7))
            for author in _pick(mon, quota, mon.world.by_subreddit[sub], n):
                _write(mon, quota, thread, None, author, (60, DAY), (1, 20))


def _reply(mon: Month, quota: np.ndarray, author: int, threads: dict) -> None:
    """One reply by `author`: where and to whom follows its community (HOME, HOMOPHILY)."""
    rng, members = mon.rng, mon.world.members
    comm, sub = members[author].community, members[author].voice["subreddit"]
    if comm and rng.random() < HOME:
        choices = threads[comm]
    elif not comm and rng.random() < OPEN_HOME:
        choices = threads[sub, None]
    else:
        choices = threads[sub]
    thread = choices[int(rng.integers(len(choices)))]
    horizon = thread["created"] + 2 * DAY  # replies to late rows would run past the month
    rows = [
        r
        for r in thread["rows"]
        if mon.comments[r]["kind"] == "normal"
        and mon.comments[r]["author"] != author
        and mon.comments[r]["created"] < horizon
    ]
    if thread["owner"] is None and (not rows or rng.random() < 0.25):
        _write(mon, quota, thread, None, author, (60, 12 * HOUR), (1, 30))
        return
    if comm and rng.random() < HOMOPHILY:
        rows = [r for r in rows if members[mon.comments[r]["author"]].community == comm] or rows
    parent = rows[int(rng.integers(len(rows)))]
    _write(mon, quota, thread, parent, author, (300, 8 * HOUR), (-2, 16))


def generate_month(world: World, seed: int, month: int) -> Month:
    start = calendar.timegm((2026, month, 1, 0, 0, 0))
    end = calendar.timegm((2026 + month // 12, month % 12 + 1, 1, 0, 0, 0))
    rng = np.random.default_rng([seed, month])
    mon = Month(world, month, rng, start, end, np.zeros(len(world.members), dtype=int))
    targets = np.array([m.activity for m in world.members], dtype=int)
    quota = targets if month == 1 else rng.binomial(targets, MONTH_GROWTH)
    threads: dict = {}
    for sub in world.subreddits:
        threads[sub] = []
        for comm, pool in world.by_community.items():
            if COMMUNITIES[comm] == sub:
                n = max(1, round(quota[pool].sum() / COMMENTS_PER_OWNED_THREAD))
                threads[comm] = [_owned_thread(mon, quota, comm) for _ in range(n)]
                threads[sub] += threads[comm]
        unaffiliated = [i for i in world.by_subreddit[sub] if world.members[i].community is None]
        n = max(1, round(quota[unaffiliated].sum() / COMMENTS_PER_OPEN_THREAD))
        threads[sub, None] = [_open_thread(mon, quota, sub) for _ in range(n)]
        threads[sub] += threads[sub, None]
    _automod_threads(mon, quota)
    left = np.flatnonzero(quota > 0)
    for author in rng.permutation(np.repeat(left, quota[left])):
        _reply(mon, quota, int(author), threads)
    _add_spam(mon)
    _mark_refetched(mon)
    _add_duplicates(mon)
    return mon
