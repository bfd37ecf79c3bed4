"""Stack Exchange dump rows → raw observation rows (pure functions over one XML row each).

A site dump holds one ``<row .../>`` per line in Posts.xml, Votes.xml and Comments.xml. Each line
is parsed on its own (``parse_line``), so a malformed row is quarantined with its reason and the
rest of the file still loads. Questions become submissions (threads, the queries), answers
top-level comments (the options) and comments replies to the post they sit under:

- ids: ``se-<site key>-<PostId>`` for posts and ``se-<site key>-c<CommentId>`` for comments (never
  a Reddit id: Reddit ids hold no dash); an answer's parent is ``t3_<its question>``, a comment's
  ``t3_<question>`` or ``t1_<answer>``, so reply links reach the bond graph like Reddit's.
- authors: ``se:<site key>:<UserId>``, pseudonymised downstream like every author; display names
  (``OwnerDisplayName``, ``UserDisplayName``) are never read, and ``@name`` mentions in texts are
  replaced by ``@user``. The site's ``Community`` account (UserId -1, a background process) and
  deleted accounts have no author.
- votes: U and D come from Votes.xml (VoteTypeId 2 and 3), joined in by the ingest; a site dump
  without Votes.xml leaves them null, so the score-only estimator is used.
- the forum (``subreddit``) is the site's host, e.g. ``quantumcomputing.stackexchange.com``.
- accepted answers are marked ``distinguished = 'accepted'``: metadata, never the label.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from datetime import datetime

SOURCE = "stackexchange"  # questions and answers (listed in [tasks].updown_sources)
COMMENT_SOURCE = "stackexchange_comment"  # comments: replies, never options
UP_VOTE, DOWN_VOTE = "2", "3"
QUESTION, ANSWER = "1", "2"
COMMUNITY_USER = "-1"  # the site's background process, not a person
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")
_MENTION = re.compile(r"(?<![\w.@])@[\w.\-]*\w")
_SKIPPED = re.compile(r"^(<\?xml .*\?>|</?\w+>)$")  # the declaration and the root element


class BadRow(ValueError):
    """A row that cannot be loaded; ``reason`` is what goes to quarantine."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def site_key(site: str) -> str:
    """The short site name used in ids: the host without ``.stackexchange.com``."""
    return site.lower().removesuffix(".stackexchange.com")


def html_to_text(body: str | None) -> str:
    """Post HTML as plain text: tags dropped, entities decoded, blank runs collapsed."""
    text = _TAG.sub(" ", body or "")
    text = html.unescape(text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def scrub_mentions(text: str) -> str:
    """``@name`` mentions (display names) replaced by ``@user``; e-mail addresses untouched."""
    return _MENTION.sub("@user", text)


def parse_line(line: bytes) -> dict | None:
    """The attributes of one ``<row .../>`` line; None for the XML declaration, the root element
    and blank lines. Raises BadRow (invalid_utf8, invalid_xml, not_a_row)."""
    try:
        text = line.decode("utf-8").strip().lstrip("\ufeff")
    except UnicodeDecodeError:
        raise BadRow("invalid_utf8") from None
    if not text or _SKIPPED.match(text):
        return None
    try:
        element = ET.fromstring(text)
    except ET.ParseError:
        raise BadRow("invalid_xml") from None
    if element.tag != "row":
        raise BadRow("not_a_row")
    return dict(element.attrib)


def _int(row: dict, name: str, default: int | None = None) -> int | None:
    value = row.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRow(f"bad_type:{name}") from None


def _time(row: dict, name: str) -> datetime:
    if not row.get(name):
        raise BadRow(f"missing_{name}")
    try:
        return datetime.fromisoformat(row[name])
    except ValueError:
        raise BadRow(f"bad_type:{name}") from None


def _author(site: str, user_id: str | None) -> str | None:
    if not user_id or user_id == COMMUNITY_USER:
        return None
    return f"se:{site_key(site)}:{user_id}"


def post_id(site: str, number: str) -> str:
    return f"se-{site_key(site)}-{number}"


def vote_of(row: dict) -> tuple[int, int] | None:
    """(PostId, VoteTypeId) of an up or down vote; None for other vote types."""
    if row.get("VoteTypeId") not in (UP_VOTE, DOWN_VOTE):
        return None
    return _int(row, "PostId"), _int(row, "VoteTypeId")


def tags_of(value: str | None) -> list[str]:
    """Tags as listed on a question: ``<a><b>`` (older dumps) or ``|a|b|`` (newer ones)."""
    return [t for t in re.split(r"[<>|]+", value or "") if t]


def post_row(row: dict, *, site: str) -> dict | None:
    """The raw row of a question (``kind`` submission) or answer (``kind`` comment); None for
    other post types (tag wikis, moderator nominations...). Raises BadRow."""
    kind = row.get("PostTypeId")
    if not row.get("Id"):
        raise BadRow("missing_Id")
    if kind not in (QUESTION, ANSWER):
        return None
    number = str(_int(row, "Id"))
    base = {
        "post_number": int(number),
        "id": post_id(site, number),
        "subreddit": site.lower(),
        "author": _author(site, row.get("OwnerUserId")),
        "score": _int(row, "Score", 0),
        "created_utc": _time(row, "CreationDate"),
        "stickied": False,
        "status": "ok",
        "source": SOURCE,
    }
    body = scrub_mentions(html_to_text(row.get("Body")))
    if kind == QUESTION:
        tags = tags_of(row.get("Tags"))
        text = body + ("\n\nTags: " + ", ".join(tags) if tags else "")
        return {
            **base,
            "kind": "submission",
            "title": scrub_mentions(row.get("Title", "")),
            "selftext": text,
            "num_comments": _int(row, "AnswerCount", 0),
            "url": f"https://{site.lower()}/q/{number}",
        }
    if not row.get("ParentId"):
        raise BadRow("missing_ParentId")
    parent = post_id(site, str(_int(row, "ParentId")))
    return {**base, "kind": "comment", "link_id": parent, "parent_id": "t3_" + parent, "body": body}


def comment_row(row: dict, *, site: str) -> dict:
    """The raw row of a comment, linked to its post by ``post_ref`` (resolved by the ingest to a
    thread and a parent). Comments cannot be down-voted: their score is their up votes."""
    if not row.get("Id"):
        raise BadRow("missing_Id")
    if not row.get("PostId"):
        raise BadRow("missing_PostId")
    score = _int(row, "Score", 0)
    return {
        "id": f"se-{site_key(site)}-c{_int(row, 'Id')}",
        "post_ref": post_id(site, str(_int(row, "PostId"))),
        "subreddit": site.lower(),
        "author": _author(site, row.get("UserId")),
        "body": scrub_mentions(row.get("Text", "")),
        "score": score,
        "ups": score,
        "downs": 0,
        "created_utc": _time(row, "CreationDate"),
        "stickied": False,
        "status": "ok",
        "source": COMMENT_SOURCE,
    }
