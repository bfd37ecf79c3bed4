"""Takedown lists: authors (clear or by keyed pseudonym) and item ids to remove from every release.

``configs/takedowns.txt`` holds one entry per line (``#`` starts a comment):

    t1_abc123            a comment (t3_ for a thread)
    member:9f2c0a1b...   an author by keyed pseudonym (what exports show as member_id)
    author:some_user     an author by clear name (or a bare name without a prefix)

Entries by pseudonym are matched by computing the keyed pseudonym of every author in the data, so
a takedown request can be honoured from an exported member_id without anyone handling the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ITEM = re.compile(r"^t[13]_[0-9a-z]+$")


class TakedownError(ValueError):
    """A takedown list that cannot be read; the message names the line."""


@dataclass(frozen=True)
class Takedowns:
    authors: frozenset[str] = field(default_factory=frozenset)
    member_ids: frozenset[str] = field(default_factory=frozenset)
    items: frozenset[str] = field(default_factory=frozenset)  # fullnames t1_/t3_


def parse_takedowns(text: str) -> Takedowns:
    """Parse a takedown file's text; raise TakedownError naming the line of a bad entry."""
    authors, members, items = set(), set(), set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, value = line.partition(":") if ":" in line else ("", "", line)
        value = value.strip()
        if not value:
            raise TakedownError(f"takedowns line {number}: empty entry {raw!r}")
        if kind == "member":
            members.add(value.lower())
        elif kind == "author" or (not kind and not ITEM.match(value)):
            authors.add(value)
        elif not kind:
            items.add(value)
        else:
            raise TakedownError(
                f"takedowns line {number}: unknown prefix {kind!r} (use member:/author:)"
            )
    return Takedowns(frozenset(authors), frozenset(members), frozenset(items))


def taken_down_authors(takedowns: Takedowns, authors: list[str], *, key: str | None) -> list[str]:
    """The authors in the data that a takedown list names, by clear name or by pseudonym."""
    hit = {a for a in authors if a in takedowns.authors}
    if takedowns.member_ids:
        if key is None:
            raise ValueError("member: takedown entries need the pseudonym key to be matched")
        from transforms.members import pseudonymize  # polars: only when pseudonyms are matched

        pseudonyms = pseudonymize(list(authors), key=key)
        hit |= {a for a, p in zip(authors, pseudonyms, strict=True) if p in takedowns.member_ids}
    return sorted(hit)
