"""Stage ``texts``: kept staging items → ``texts`` (cleaned for embedding, hashed).

Cleaning (markdown links, quotes, URLs, markup) is ``transforms/embed_text.py``; the text hash
is the key of the embedding cache, so an unchanged text is never encoded twice.

The items stream through in batches of ``BATCH_ROWS`` (ordered by ``item_id``, numbered in a
DuckDB temp table that spills past its memory limit), so memory does not grow with a month of
comments; the table is built beside the live one and swapped in by one transaction. From
``PARALLEL_MIN_ROWS`` items on, the cleaning and hashing (Python, one text at a time) runs in
worker processes, one per core (at most ``MAX_WORKERS``), a few batches in flight; the rows are
the same either way.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context

import polars as pl
from tqdm import tqdm

import schemas
import warehouse
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms.embed_text import EMBED_TEXT_VERSION, build_texts, clean_and_hash, raw_texts

BATCH_ROWS = 200_000
PARALLEL_MIN_ROWS = 400_000  # below this, starting worker processes costs more than it saves
MAX_WORKERS = 8
BUILDING = "texts__building"
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
    workers = min(os.cpu_count() or 1, MAX_WORKERS) if total >= PARALLEL_MIN_ROWS else 1
    # built beside the live table, a batch per commit (one transaction of a month's rows grows
    # DuckDB's memory past its limit: +0.4 GiB per million rows, measured), then swapped in by
    # one transaction; a crash leaves the live table as it was
    con.execute(schemas.ddl(schema, replace=True).replace("table texts", f"table {BUILDING}", 1))
    try:
        bar = tqdm(total=total, unit="text", desc="texts", disable=total < BATCH_ROWS)
        for rows in _text_batches(con, total, workers):
            con.register("_incoming", rows.select(schema.column_names).to_arrow())
            con.execute(f"insert into {BUILDING} by name select * from _incoming")
            con.unregister("_incoming")
            bar.update(rows.height)
        bar.close()
        _swap_in(con)
    except BaseException:
        con.execute(f"drop table if exists {BUILDING}")
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


def _swap_in(con) -> None:
    """The built table replaces ``texts`` in one transaction."""
    con.execute("begin transaction")
    try:
        con.execute("drop table if exists texts")
        con.execute(f"alter table {BUILDING} rename to texts")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _text_batches(con, total: int, workers: int) -> Iterator[pl.DataFrame]:
    """The ``texts`` rows batch by batch, in order; cleaned in ``workers`` processes when > 1."""
    starts = range(0, total, BATCH_ROWS)
    if workers <= 1:
        for start in starts:
            yield build_texts(_items(con, start))
        return
    # spawn: the parent holds DuckDB's threads, which a fork would copy mid-flight
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: deque[tuple[pl.DataFrame, Future]] = deque()
        for start in starts:
            items = _items(con, start)
            cleaning = pool.submit(clean_and_hash, raw_texts(items))
            # the texts travel to a worker; what waits here is the rest of the row
            pending.append((items.drop("body", "title", "selftext"), cleaning))
            if len(pending) > workers:
                items, done = pending.popleft()
                yield build_texts(items, done.result())
        while pending:
            items, done = pending.popleft()
            yield build_texts(items, done.result())


def _items(con, start: int) -> pl.DataFrame:
    batch = con.sql(
        "select * exclude (_row) from _kept_numbered where _row > $lo and _row <= $hi",
        params={"lo": start, "hi": start + BATCH_ROWS},
    )
    return pl.from_arrow(batch.to_arrow_table())


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
