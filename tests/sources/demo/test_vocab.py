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
