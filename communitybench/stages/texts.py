"""Stage ``texts``: kept staging items → ``texts`` (cleaned for embedding, hashed).

Cleaning (markdown links, quotes, URLs, markup) is ``transforms/embed_text.py``; the text hash
is the key of the embedding cache, so an unchanged text is never encoded twice.
"""

from __future__ import annotations

import polars as pl

import warehouse
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms.embed_text import EMBED_TEXT_VERSION, build_texts


class Params(StageParams):
    pass


def run(con, params: Params) -> StageResult:
    """Rebuild ``texts`` from the kept staging rows."""
    texts = build_texts(warehouse.query(con, "int_kept_items").pl())
    warehouse.replace_tables(con, {"texts": texts.to_arrow()})
    by_kind = dict(texts.group_by("kind").len().sort("kind").iter_rows())
    empty = int((texts["clean_text"] == "").sum())
    distinct = texts.filter(pl.col("clean_text") != "")["text_hash"].n_unique()
    return StageResult(
        name="texts",
        version=EMBED_TEXT_VERSION,
        work=(Work("texts", computed=texts.height, note=f"{distinct:,} distinct non-empty"),),
        dropped={"empty_after_cleaning": empty} if empty else {},
        details={"texts": texts.height, "by_kind": by_kind, "empty": empty, "distinct": distinct},
    )


def carried_work(con) -> tuple[Work, ...]:
    return (Work("texts", reused=warehouse.row_count(con, "texts")),)


STAGE = Stage(
    name="texts",
    version=EMBED_TEXT_VERSION,
    params=Params,
    run=run,
    doc="clean kept staging texts for embedding and hash them (the cache key)",
    inputs=("stg_comments", "stg_submissions"),
    outputs=("texts",),
    reusable=True,
    carried_work=carried_work,
)
