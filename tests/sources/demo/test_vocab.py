"""The demo vocabulary: package data (vocab.toml) that the composing functions read."""

from __future__ import annotations

import re
import string
import tomllib
from importlib import resources

import numpy as np
import pytest

from communitybench.sources.demo import vocab

WORD_LISTS = ("topics", "practices", "stances", "phrases", "problems")
SLOTS = {"topic", "Topic", "topic2", "practice", "problem", "stance", "Stance", "shared"}


def _slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_data_file_is_package_data_and_what_the_module_exposes():
    raw = tomllib.loads(
        resources.files("communitybench.sources.demo").joinpath("vocab.toml").read_text("utf-8")
    )
    assert list(vocab.SUBREDDITS) == list(raw["subreddits"])  # order is part of the forum
    assert vocab.SPAM_BOT == raw["texts"]["spam_bot"]
    assert vocab.NAME_NOUNS == tuple(raw["names"]["nouns"])
    with pytest.raises(TypeError):  # one shared copy: nothing may change it
        vocab.SUBREDDITS["cooking"]["theme"] = "x"


def test_every_subreddit_has_communities_with_every_word_list():
    assert len(vocab.SUBREDDITS) >= 3
    for sub in vocab.SUBREDDITS.values():
        assert re.fullmatch(r"t5_[0-9a-z]+", sub["subreddit_id"]) and sub["shared"]
        assert 3 <= len(sub["communities"]) <= 4
        for words in sub["communities"].values():
            assert words["theme"]
            assert all(len(words[key]) >= 5 for key in WORD_LISTS)
            assert len(words["topics"]) >= 5  # members pick 5 favourite topics


def test_templates_use_only_known_slots():
    templates = [
        *vocab.TITLES,
        *vocab.CONTEXTS,
        *(t for group in vocab.SENTENCES.values() for t in group),
    ]
    assert all(_slots(t) <= SLOTS for t in templates)
    assert not any(_slots(t) for t in (*vocab.CLOSERS, *vocab.ASKS))
    assert _slots(vocab.AUTOMOD_COMMENT) == _slots(vocab.AUTOMOD_SELFTEXT) == {"sub"}
    assert set(vocab.OPENERS) == set(vocab.SENTENCES) == {"pos", "neu", "neg"}


def test_composed_texts_fill_every_slot():
    rng = np.random.default_rng(0)
    words = next(iter(next(iter(vocab.SUBREDDITS.values()))["communities"].values()))
    shared = next(iter(vocab.SUBREDDITS.values()))["shared"]
    voice = {"community": words, "shared": shared, "favorites": (0, 1, 2, 3, 4)}
    for sentiment in ("pos", "neu", "neg"):
        text = vocab.compose_comment(rng, voice, sentiment)
        assert 60 <= len(text) <= 600 and "{" not in text
    title, body = vocab.compose_thread(rng, voice)
    assert title and body and "{" not in title + body
    assert re.fullmatch(r"[A-Za-z0-9_-]+", vocab.make_username(rng))


def test_realistic_debates_and_communities():
    assert list(vocab.REALISTIC) == list(vocab.SUBREDDITS)  # a realistic twin for every one
    easy_stances = {
        s
        for sub in vocab.SUBREDDITS.values()
        for c in sub["communities"].values()
        for s in c["stances"]
    }
    for sub, spec in vocab.REALISTIC.items():
        assert len(spec["debates"]) == 3
        phrases = [p for d in spec["debates"] for side in "ab" for p in d[side]]
        assert all(len(d[side]) >= 3 for d in spec["debates"] for side in "ab")
        assert len(set(phrases)) == len(phrases) and not set(phrases) & easy_stances
        sides = [c["sides"] for c in spec["communities"].values()]
        assert len(sides) == 3 and all(re.fullmatch("[ab]{3}", s) for s in sides)
        for a in sides:  # no single debate splits the siblings: each pair differs on two
            assert all(sum(x != y for x, y in zip(a, b, strict=True)) == 2 for b in sides if b != a)
        for c in spec["communities"].values():
            assert sum(c["mood"]) == pytest.approx(1) and 0 <= c["hedge"] <= 1
            assert 1 <= c["sentences"][0] <= c["sentences"][1] and 0 < c["stance"] <= 1
        words = vocab.shared_words(sub)
        assert len(words["topics"]) == sum(
            len(c["topics"]) for c in vocab.SUBREDDITS[sub]["communities"].values()
        )
    assert all(
        _slots(t) <= {"stance", "Stance"}
        for k in ("hedged_stances", "blunt_stances")
        for t in vocab.TONE[k]
    )


def test_voiced_comments_fill_every_slot():
    rng = np.random.default_rng(0)
    sub = next(iter(vocab.REALISTIC))
    spec = next(iter(vocab.REALISTIC[sub]["communities"].values()))
    words = {**vocab.shared_words(sub), "stances": ("x",)}
    voice = {
        "community": words,
        "shared": vocab.SUBREDDITS[sub]["shared"],
        "favorites": (0, 1, 2, 3, 4),
    }
    voice |= {"debates": vocab.REALISTIC[sub]["debates"], "sides": spec["sides"], "adherence": 1.0}
    voice["tone"] = {k: spec[k] for k in ("hedge", "sentences", "stance")}
    for sentiment in ("pos", "neu", "neg"):
        text = vocab.compose_voiced(rng, voice, sentiment)
        assert 60 <= len(text) <= 600 and "{" not in text
    picks = {vocab.side_phrase(rng, voice) for _ in range(200)}
    own = {p for d, side in zip(voice["debates"], spec["sides"], strict=True) for p in d[side]}
    assert picks == own  # adherence 1: only the community's side, every phrase of it
