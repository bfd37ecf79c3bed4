"""Stage ``texts``: kept staging items → ``texts`` (cleaned for embedding, hashed).

Cleaning (markdown links, quotes, URLs, markup) is ``transforms/embed_text.py``; the text hash
is the key of the embedding cache, so an unchanged text is never encoded twice.

The items stream through in batches of ``BATCH_ROWS`` (ordered by ``item_id``, numbered in a
DuckDB temp table that spills past its memory limit), so memory does not grow with a month of
comments; the table is replaced in one transaction.
"""

from __future__ import annotations

import polars as pl
from tqdm import tqdm

import schemas
import warehouse
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms.embed_text import EMBED_TEXT_VERSION, build_texts

BATCH_ROWS = 200_000
# item_id as transforms.embed_text.build_texts makes it, for the order of the batches
ITEM_ID = "case kind when 'comment' then 't1_' else 't3_' end || id"


class Params(StageParams):
    pass


def run(con, params: Params) -> StageResult:
    """Rebuild ``texts`` from the kept staging rows, batch by batch."""
    warehouse.query(con, "int_kept_items").create_view("_kept_items", replace=True)
    con.execute(
        f"create or replace temp table _kept_numbered as select row_number() over "
        f"(order by {ITEM_ID}) as _row, * from _kept_items"
    )
    [(total,)] = con.execute("select count(*) from _kept_numbered").fetchall()
    schema = schemas.load_schema("texts")
    con.execute("begin transaction")
    try:
        con.execute(schemas.ddl(schema, replace=True))
        bar = tqdm(total=total, unit="text", desc="texts", disable=total < BATCH_ROWS)
        for start in range(0, total, BATCH_ROWS):
            batch = con.execute(
                "select * exclude (_row) from _kept_numbered where _row > ? and _row <= ?",
                [start, start + BATCH_ROWS],
            )
            items = pl.from_arrow(batch.to_arrow_table())
            con.register("_incoming", build_texts(items).select(schema.column_names).to_arrow())
            con.execute("insert into texts by name select * from _incoming")
            con.unregister("_incoming")
            bar.update(items.height)
        bar.close()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _kept_numbered")
        con.execute("drop view if exists _kept_items")
    by_kind = dict(
        con.execute("select kind, count(*) from texts group by kind order by kind").fetchall()
    )
    [(empty, distinct)] = con.execute(
        "select count(*) filter (where clean_text = ''), "
        "count(distinct text_hash) filter (where clean_text <> '') from texts"
    ).fetchall()
    return StageResult(
        name="texts",
        version=EMBED_TEXT_VERSION,
        work=(Work("texts", computed=total, note=f"{distinct:,} distinct non-empty"),),
        dropped={"empty_after_cleaning": empty} if empty else {},
        details={"texts": total, "by_kind": by_kind, "empty": empty, "distinct": distinct},
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
