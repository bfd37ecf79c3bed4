"""Text cleaning for embedding, and the ``texts`` table built from kept staging rows.

The cleaning only removes what carries no meaning for a sentence encoder: markdown link targets,
quoted text (it is someone else's words), bare URLs, HTML entities and markdown markup. Its
version is recorded with every row, so a change of rules is visible in the warehouse and the
release manifest (and changes ``text_hash``, so the embedding cache never mixes versions).
"""

from __future__ import annotations

import hashlib
import html
import re

import polars as pl

EMBED_TEXT_VERSION = "embed_text_v1"

_QUOTE_LINE = re.compile(r"(?m)^[ \t]*(?:&gt;|>).*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_SUBREDDIT_USER = re.compile(r"(?<![\w/])/?([ru])/(\w+)")
_MARKUP = re.compile(r"(\*\*|__|~~|`+|^#{1,6}[ \t]+|^[ \t]*[-*+][ \t]+)", re.MULTILINE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

TEXT_COLUMNS = (
    "item_id",
    "kind",
    "id",
    "link_id",
    "subreddit",
    "author",
    "created_utc",
    "clean_text",
    "text_hash",
    "clean_version",
)


def clean_for_embedding(text: str | None) -> str:
    """Clean one text for a sentence encoder.

    Args:
        text: Raw markdown body (may be None).

    Returns:
        The text without quoted lines, link targets, URLs, entities or markup; whitespace
        collapsed (paragraph breaks kept as one blank line). Empty when nothing is left.
    """
    if not text:
        return ""
    text = _QUOTE_LINE.sub("", text)
    text = html.unescape(text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _SUBREDDIT_USER.sub(r"\1/\2", text)
    text = _MARKUP.sub("", text)
    text = _SPACE.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def text_hash(text: str) -> str:
    """sha256 hex of a cleaned text (the embedding cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_and_hash(raw: list[str]) -> tuple[list[str], list[str]]:
    """Cleaned texts and their hashes (the per-text Python work, run in worker processes for a
    large table)."""
    clean = [clean_for_embedding(t) for t in raw]
    return clean, [text_hash(t) for t in clean]


def raw_texts(items: pl.DataFrame) -> list[str]:
    """The text of each item: a comment's body, a submission's title and selftext."""
    return [
        body if kind == "comment" else _submission_text(title, selftext)
        for kind, body, title, selftext in zip(
            items["kind"], items["body"], items["title"], items["selftext"], strict=True
        )
    ]


def build_texts(
    items: pl.DataFrame, cleaned: tuple[list[str], list[str]] | None = None
) -> pl.DataFrame:
    """Turn kept staging items into ``texts`` rows.

    Args:
        items: Columns ``kind`` ('comment' | 'submission'), ``id``, ``link_id`` (null for
            submissions), ``subreddit``, ``author``, ``created_utc``, ``body`` (comments),
            ``title`` and ``selftext`` (submissions).
        cleaned: ``clean_and_hash(raw_texts(items))`` when it was computed elsewhere (then
            ``body``, ``title`` and ``selftext`` may be left out of ``items``).

    Returns:
        One row per item with the ``texts`` columns, sorted by ``item_id``.
    """
    clean, hashes = cleaned if cleaned is not None else clean_and_hash(raw_texts(items))
    prefix = pl.when(pl.col("kind") == "comment").then(pl.lit("t1_")).otherwise(pl.lit("t3_"))
    return (
        items.with_columns(
            item_id=prefix + pl.col("id"),
            link_id=pl.coalesce("link_id", "id"),
            clean_text=pl.Series(clean, dtype=pl.String),
            text_hash=pl.Series(hashes, dtype=pl.String),
            clean_version=pl.lit(EMBED_TEXT_VERSION),
        )
        .select(TEXT_COLUMNS)
        .sort("item_id")
    )


def _submission_text(title: str | None, selftext: str | None) -> str:
    # link posts have no selftext; the title alone is the query
    parts = [p for p in (title, selftext) if p and p not in ("[deleted]", "[removed]")]
    return "\n\n".join(parts)
