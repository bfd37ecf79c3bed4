"""Members: keyed pseudonyms and one vector per (author, scope).

A member is an author with enough kept, embedded texts in a scope (a subreddit, or the whole
forum for scope 'global'); the member vector is the mean of those text vectors (DESIGN.md,
"Members and communities").
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import polars as pl

MEMBERS_VERSION = "members_v1"
MEMBER_ID_CHARS = 16
GLOBAL_SCOPE = "global"


def pseudonymize(authors: list[str] | pl.Series, *, key: str) -> list[str]:
    """Keyed pseudonyms: the first 16 hex chars of HMAC-SHA256(key, author).

    Args:
        authors: Clear usernames.
        key: The secret pseudonym key.

    Returns:
        One member id per author, in order.
    """
    secret = key.encode("utf-8")
    return [
        hmac.new(secret, author.encode("utf-8"), hashlib.sha256).hexdigest()[:MEMBER_ID_CHARS]
        for author in authors
    ]


def scope_column(subreddits: pl.Series, *, scope: str) -> pl.Series:
    """The scope of each text: its subreddit (scope 'subreddit') or 'global'."""
    if scope == "subreddit":
        return subreddits.alias("scope")
    if scope == GLOBAL_SCOPE:
        return pl.Series("scope", [GLOBAL_SCOPE] * len(subreddits), dtype=pl.String)
    raise ValueError(f"unknown scope {scope!r} (expected 'subreddit' or 'global')")


def member_table(counts: pl.DataFrame, *, min_texts: int, key: str) -> pl.DataFrame:
    """Members from texts counted per (author, scope): ``member_id``, ``author``, ``scope``,
    ``n_texts`` for those with at least ``min_texts``, sorted by (scope, member_id) so that
    downstream order never depends on the database."""
    groups = counts.filter(pl.col("author").is_not_null() & (pl.col("n_texts") >= min_texts))
    groups = groups.with_columns(
        member_id=pl.Series(pseudonymize(groups["author"], key=key), dtype=pl.String)
    ).sort("scope", "member_id")
    return groups.select("member_id", "author", "scope", pl.col("n_texts").cast(pl.Int64))


class VectorMeans:
    """Mean vector per group, accumulated batch by batch: memory holds one float64 sum per
    group and one batch, never every text vector."""

    def __init__(self, n_groups: int, dim: int):
        self.sums = np.zeros((n_groups, dim), dtype=np.float64)
        self.counts = np.zeros(n_groups, dtype=np.int64)

    def add(self, groups: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` to group ``groups[i]``."""
        if len(groups) == 0:
            return
        order = np.argsort(groups, kind="stable")
        ids, starts = np.unique(groups[order], return_index=True)
        self.sums[ids] += np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
        self.counts[ids] += np.diff(np.r_[starts, len(order)])

    def means(self) -> np.ndarray:
        return (self.sums / np.maximum(self.counts, 1)[:, None]).astype(np.float32)


def build_member_vectors(
    texts: pl.DataFrame, vectors: np.ndarray, *, min_texts: int, scope: str, key: str
) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean text vector per (author, scope) for authors with at least ``min_texts`` texts, from
    texts in memory (the members stage streams them from the warehouse instead).

    Args:
        texts: One row per embedded text with ``author`` (null rows are skipped) and
            ``subreddit``; row i belongs to ``vectors[i]``.
        vectors: float32 array (n_texts, dim).
        min_texts: Minimum texts for an author to become a member of a scope.
        scope: 'subreddit' or 'global'.
        key: Pseudonym key for ``member_id``.

    Returns:
        (members, member_vectors): ``member_id``, ``author``, ``scope``, ``n_texts`` sorted by
        (scope, member_id), and the matching float32 array of mean vectors.
    """
    frame = pl.DataFrame(
        {"author": texts["author"], "scope": scope_column(texts["subreddit"], scope=scope)}
    )
    counts = frame.group_by("author", "scope").agg(n_texts=pl.len())
    members = member_table(counts, min_texts=min_texts, key=key)
    index = members.select("author", "scope").with_row_index("group")
    rows = frame.with_row_index("row").join(index, on=["author", "scope"], how="inner")
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    means = VectorMeans(members.height, dim)
    means.add(rows["group"].to_numpy(), vectors[rows["row"].to_numpy()])
    return members, means.means()
