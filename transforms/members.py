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


def build_member_vectors(
    texts: pl.DataFrame, vectors: np.ndarray, *, min_texts: int, scope: str, key: str
) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean text vector per (author, scope) for authors with at least ``min_texts`` texts.

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
    ).with_row_index("row")
    frame = frame.filter(pl.col("author").is_not_null())
    groups = (
        frame.group_by("author", "scope")
        .agg(pl.col("row"), n_texts=pl.len())
        .filter(pl.col("n_texts") >= min_texts)
    )
    groups = groups.with_columns(
        member_id=pl.Series(pseudonymize(groups["author"], key=key), dtype=pl.String)
    ).sort("scope", "member_id")
    means = _group_means(vectors, groups["row"].to_list())
    members = groups.select("member_id", "author", "scope", pl.col("n_texts").cast(pl.Int64))
    return members, means


def _group_means(vectors: np.ndarray, rows: list[list[int]]) -> np.ndarray:
    """Mean of the vectors at each list of row indices (one reduceat over a gathered array)."""
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    sizes = np.array([len(r) for r in rows])
    order = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sums = np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
    return (sums / sizes[:, None]).astype(np.float32)
