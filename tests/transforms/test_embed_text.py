"""transforms.embed_text: cleaning rules and the texts rows built from staging items."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from transforms.embed_text import EMBED_TEXT_VERSION, build_texts, clean_for_embedding


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("See [the wiki](https://example.com/wiki) first", "See the wiki first"),
        ("![chart](https://i.img/x.png) says it all", "chart says it all"),
        ("docs at https://example.com/a?b=1 and www.example.org.", "docs at and"),
        ("> you are wrong\n\nNo, I am right", "No, I am right"),
        ("&gt; quoted via entity\nmine &amp; yours", "mine & yours"),
        ("**bold** and ~~struck~~ `code`", "bold and struck code"),
        ("# Title\n- one\n- two", "Title\none\ntwo"),
        ("a  \t lot   of\n\n\n\nspace", "a lot of\n\nspace"),
        ("ask in /r/Cooking or u/someone", "ask in r/Cooking or u/someone"),
        ("", ""),
        (None, ""),
        ("https://only-a-link.com", ""),
    ],
)
def test_clean_for_embedding(raw, clean):
    assert clean_for_embedding(raw) == clean


def test_build_texts_from_comments_and_submissions():
    t = datetime(2026, 1, 1)
    items = pl.DataFrame(
        {
            "kind": ["comment", "submission", "submission"],
            "id": ["c1", "s1", "s2"],
            "link_id": ["s1", None, None],
            "subreddit": ["cooking", "cooking", "cooking"],
            "author": ["alice", "bob", None],
            "created_utc": [t, t, t],
            "body": ["hello [world](http://x.y)", None, None],
            "title": [None, "Knife advice?", "Link post"],
            "selftext": [None, "Which one?", ""],
        }
    )
    out = build_texts(items)
    assert out.to_dicts() == [
        {
            "item_id": "t1_c1",
            "kind": "comment",
            "id": "c1",
            "link_id": "s1",
            "subreddit": "cooking",
            "author": "alice",
            "created_utc": t,
            "clean_text": "hello world",
            "text_hash": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
            "clean_version": EMBED_TEXT_VERSION,
        },
        {
            "item_id": "t3_s1",
            "kind": "submission",
            "id": "s1",
            "link_id": "s1",
            "subreddit": "cooking",
            "author": "bob",
            "created_utc": t,
            "clean_text": "Knife advice?\n\nWhich one?",
            "text_hash": out["text_hash"][1],
            "clean_version": EMBED_TEXT_VERSION,
        },
        {
            "item_id": "t3_s2",
            "kind": "submission",
            "id": "s2",
            "link_id": "s2",
            "subreddit": "cooking",
            "author": None,
            "created_utc": t,
            "clean_text": "Link post",
            "text_hash": out["text_hash"][2],
            "clean_version": EMBED_TEXT_VERSION,
        },
    ]
    assert out["text_hash"].str.len_chars().to_list() == [64, 64, 64]
