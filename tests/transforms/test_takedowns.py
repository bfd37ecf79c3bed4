"""Takedown lists: parsing and matching by clear name or keyed pseudonym."""

from __future__ import annotations

import pytest

from transforms.members import pseudonymize
from transforms.takedowns import Takedowns, parse_takedowns, taken_down_authors


def test_parse_entries_and_comments():
    text = (
        "# requests\nt1_abc\nt3_zz9  # a thread\nmember:ABCDEF0123456789\nauthor:x_y\nbare_name\n\n"
    )
    assert parse_takedowns(text) == Takedowns(
        authors=frozenset({"x_y", "bare_name"}),
        member_ids=frozenset({"abcdef0123456789"}),
        items=frozenset({"t1_abc", "t3_zz9"}),
    )


def test_bad_entries_name_the_line():
    with pytest.raises(ValueError, match="line 2: unknown prefix 'user'"):
        parse_takedowns("t1_a\nuser:bob\n")
    with pytest.raises(ValueError, match="line 1: empty entry"):
        parse_takedowns("member:\n")


def test_match_by_pseudonym_and_by_name():
    authors = ["alice", "bob", "carol"]
    [bob_id] = pseudonymize(["bob"], key="k")
    listed = Takedowns(authors=frozenset({"carol", "nobody"}), member_ids=frozenset({bob_id}))
    assert taken_down_authors(listed, authors, key="k") == ["bob", "carol"]
    assert taken_down_authors(listed, authors, key="other-key") == ["carol"]
