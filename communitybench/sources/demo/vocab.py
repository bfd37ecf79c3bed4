"""Composing what demo members write: comments, threads and usernames (see `forum.py`).

The words and templates are data, in ``vocab.toml`` next to this module (package data, read
once on import): per subreddit and community its topics, practices, stances, catchphrases and
problems; templates shared by everyone; username parts; the bots' fixed texts. Only the slot
fillers are community-specific, so that a member's comments, embedded with a sentence model, sit
near the other members of the same community and away from the neighbouring communities of the
same subreddit.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from types import MappingProxyType

import numpy as np


def _frozen(value):
    """TOML data made read-only (tables → mapping proxies, arrays → tuples): one copy for all."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


_DATA = _frozen(
    tomllib.loads(resources.files(__package__).joinpath("vocab.toml").read_text("utf-8"))
)

# five subreddits (a seed picks three), each {subreddit_id, theme, shared, communities}
SUBREDDITS = _DATA["subreddits"]
SPAM_BOT = _DATA["texts"]["spam_bot"]
SPAM_BODY = _DATA["texts"]["spam_body"]
AUTOMOD_COMMENT = _DATA["texts"]["automod_comment"]
AUTOMOD_TITLE = _DATA["texts"]["automod_title"]
AUTOMOD_SELFTEXT = _DATA["texts"]["automod_selftext"]
NOT_JSON_LINE = _DATA["texts"]["not_json_line"]
OPENERS = _DATA["templates"]["openers"]
SENTENCES = _DATA["templates"]["sentences"]
CLOSERS = _DATA["templates"]["closers"]
TITLES = _DATA["templates"]["titles"]
CONTEXTS = _DATA["templates"]["contexts"]
ASKS = _DATA["templates"]["asks"]
NAME_ADJECTIVES = _DATA["names"]["adjectives"]
NAME_NOUNS = _DATA["names"]["nouns"]
# the realistic profile: per subreddit {debates: [{a, b}], communities: {sides, tone...}}
REALISTIC = _DATA["realistic"]["subreddits"]
TONE = _DATA["realistic"]["tone"]


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_username(rng: np.random.Generator) -> str:
    """One plausible Reddit username; callers enforce uniqueness."""
    adj, noun = _pick(rng, NAME_ADJECTIVES), _pick(rng, NAME_NOUNS)
    style = int(rng.integers(6))
    if style == 0:
        return f"{adj}_{noun}_{rng.integers(10, 100)}"
    if style == 1:
        return f"{_cap(adj)}{_cap(noun)}{rng.integers(1, 1000)}"
    if style == 2:
        return f"{noun}-{adj}"
    if style == 3:
        return f"{adj}{noun}{rng.integers(1970, 2008)}"
    if style == 4:
        return f"the_{adj}_{noun}"
    return f"{_cap(noun)}_{_cap(adj)}_{rng.integers(1, 10)}"


def _slots(rng: np.random.Generator, voice: dict) -> dict:
    """Fill every template slot: mostly community words, `shared` from the subreddit."""
    comm = voice["community"]
    topics = comm["topics"]
    favs = voice["favorites"]
    topic = topics[favs[int(rng.integers(len(favs)))]] if rng.random() < 0.4 else _pick(rng, topics)
    stance = _pick(rng, comm["stances"])
    return {
        "topic": topic,
        "Topic": _cap(topic),
        "topic2": _pick(rng, topics),
        "practice": _pick(rng, comm["practices"]),
        "problem": _pick(rng, comm["problems"]),
        "stance": stance,
        "Stance": _cap(stance),
        "shared": _pick(rng, voice["shared"]),
    }


def compose_comment(rng: np.random.Generator, voice: dict, sentiment: str) -> str:
    """A comment of 60-600 characters in the voice of one member.

    Args:
        rng: The generator to draw from.
        voice: {"community": vocab dict, "shared": subreddit words, "favorites": topic indices}.
        sentiment: "pos", "neg" or "neu"; a fifth of the sentences drift to neutral.
    """
    parts = [_pick(rng, OPENERS[sentiment])] if rng.random() < 0.35 else []
    used: set[str] = set()
    for _ in range(int(rng.integers(1, 4))):
        mood = sentiment if rng.random() < 0.8 else "neu"
        template = _pick(rng, SENTENCES[mood])
        if template not in used:  # one template at most once per comment
            used.add(template)
            parts.append(template.format(**_slots(rng, voice)))
    if rng.random() < 0.5:
        phrase = _pick(rng, voice["community"]["phrases"])
        parts.append(_cap(phrase) + "." if rng.random() < 0.75 else _pick(rng, CLOSERS))
    while len(" ".join(parts)) < 60:
        parts.append(_pick(rng, SENTENCES[sentiment]).format(**_slots(rng, voice)))
    while len(" ".join(parts)) > 600 and len(parts) > 1:
        parts.pop(0)
    return " ".join(parts)


def shared_words(subreddit: str) -> dict[str, tuple[str, ...]]:
    """A subreddit's topic words for the realistic profile: the union, in order, of its easy
    communities' topics, practices and problems (every realistic community writes with all)."""
    comms = SUBREDDITS[subreddit]["communities"].values()
    return {
        key: tuple(dict.fromkeys(w for c in comms for w in c[key]))
        for key in ("topics", "practices", "problems")
    }


def side_phrase(rng: np.random.Generator, voice: dict) -> str:
    """A stance on one of the subreddit's debates: the member's side with probability
    ``voice["adherence"]``, otherwise (and always for unaffiliated members) a coin flip."""
    d = int(rng.integers(len(voice["debates"])))
    sides = voice["sides"]
    side = sides[d] if sides and rng.random() < voice["adherence"] else "ab"[int(rng.integers(2))]
    return _pick(rng, voice["debates"][d][side])


def compose_voiced(rng: np.random.Generator, voice: dict, sentiment: str) -> str:
    """A realistic-profile comment of 60-600 characters: topic words shared by the whole
    subreddit, a stance from the member's side of its debates, in the member's tone.

    Args:
        rng: The generator to draw from.
        voice: as for `compose_comment` (its "community" holds the subreddit's shared words),
            plus "debates", "sides" (None for unaffiliated members), "adherence" and "tone"
            ({hedge, sentences: [low, high], stance}).
        sentiment: "pos", "neg" or "neu"; a fifth of the sentences drift to neutral.
    """
    tone = voice["tone"]
    style = "hedged" if rng.random() < tone["hedge"] else "blunt"
    parts = [_pick(rng, TONE[f"{style}_openers"])] if rng.random() < 0.4 else []
    used: set[str] = set()
    low, high = tone["sentences"]
    for _ in range(int(rng.integers(low, high + 1))):
        mood = sentiment if rng.random() < 0.8 else "neu"
        template = _pick(rng, SENTENCES[mood])
        if template not in used:
            used.add(template)
            stance = side_phrase(rng, voice)
            slots = _slots(rng, voice) | {"stance": stance, "Stance": _cap(stance)}
            parts.append(template.format(**slots))
    if rng.random() < tone["stance"]:
        stance = side_phrase(rng, voice)
        template = _pick(rng, TONE[f"{style}_stances"])
        parts.append(template.format(stance=stance, Stance=_cap(stance)))
    if rng.random() < 0.4:
        parts.append(_pick(rng, TONE[f"{style}_closers"]))
    while len(" ".join(parts)) < 60:
        stance = side_phrase(rng, voice)
        parts.append(
            _pick(rng, TONE[f"{style}_stances"]).format(stance=stance, Stance=_cap(stance))
        )
    while len(" ".join(parts)) > 600 and len(parts) > 1:
        parts.pop(0)
    return " ".join(parts)


def compose_thread(rng: np.random.Generator, voice: dict) -> tuple[str, str]:
    """A (title, selftext) pair that asks the community something."""
    title = _pick(rng, TITLES).format(**_slots(rng, voice))
    body = [_pick(rng, CONTEXTS).format(**_slots(rng, voice))]
    if rng.random() < 0.6:
        body.append(_pick(rng, SENTENCES["neu"]).format(**_slots(rng, voice)))
    body.append(_pick(rng, ASKS))
    return title, " ".join(body)
