"""Warehouse side of the Reddit crawler: crawl runs, checkpoints, the thread queue, errors.

Callers wrap each unit of work (a listing page, a thread, a member history) in one
:func:`transaction` together with its checkpoint, so a crawl killed at any point resumes at the
first uncommitted unit and writes every observation exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

import schemas
import warehouse
from communitybench.sources.reddit.client import RetriesExhausted, redact
from communitybench.sources.reddit.fetch import utcnow

CRAWL_VERSION = "crawl_v1"
MESSAGE_CHARS = 2_000


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``begin`` … ``commit``, rolled back on any exception."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> int:
    """Append rows (dicts keyed by column name) to a raw table through its Arrow schema."""
    if not rows:
        return 0
    if len(rows) == 1:  # a checkpoint or an error: plain SQL beats building an Arrow table
        names = list(rows[0])
        columns = ", ".join(names)
        marks = ", ".join("?" * len(names))
        con.execute(f"insert into {table} ({columns}) values ({marks})", list(rows[0].values()))
        return 1
    arrow = pa.Table.from_pylist(rows, schema=schemas.arrow_schema(schemas.load_schema(table)))
    con.register("_crawl_rows", arrow)
    try:
        con.execute(f"insert into {table} by name select * from _crawl_rows")
    finally:
        con.unregister("_crawl_rows")
    return len(rows)


def open_crawl(con, *, key: str, settings: dict, api_url: str | None) -> tuple[str, bool]:
    """Resume the unfinished crawl with this key, or start a new one; return (id, resumed)."""
    now = utcnow()
    row = con.execute(
        "select crawl_id from crawl_runs where crawl_key = ? and finished_at is null "
        "order by started_at desc limit 1",
        [key],
    ).fetchall()
    row = row[0] if row else None
    if row:
        con.execute(
            "update crawl_runs set attempts = attempts + 1, resumed_at = ? where crawl_id = ?",
            [now, row[0]],
        )
        return row[0], True
    crawl_id = f"crawl-{now:%Y%m%dT%H%M%S%f}-{key[:8]}"
    row = {
        "crawl_id": crawl_id,
        "crawl_key": key,
        "version": CRAWL_VERSION,
        "settings": json.dumps(settings, sort_keys=True),
        "api_url": api_url,
        "started_at": now,
        "attempts": 1,
        "requests": 0,
        "retries": 0,
        "retry_reasons": "{}",
    }
    insert_rows(con, "crawl_runs", [row])
    return crawl_id, False


def crawl_state(con, crawl_id: str) -> tuple | None:
    """(finished_at,) of a crawl, or None when there is no such crawl."""
    rows = con.execute(
        "select finished_at from crawl_runs where crawl_id = ?", [crawl_id]
    ).fetchall()
    return rows[0] if rows else None


def seen_ids(con, crawl_id: str, table: str) -> set[str]:
    """Item ids this crawl has already stored in a raw table."""
    rows = con.execute(
        f"select id from {table} where ingest_run_id = ? and source = 'reddit'", [crawl_id]
    ).fetchall()
    return {r[0] for r in rows}


def load_checkpoint(con, crawl_id: str, source_file: str) -> dict | None:
    """The checkpoint row of one listing or member history, as a dict."""
    cur = con.execute(
        "select * from crawl_checkpoints where crawl_id = ? and source_file = ?",
        [crawl_id, source_file],
    )
    rows = cur.fetchall()
    names = [d[0] for d in cur.description]
    return dict(zip(names, rows[0], strict=True)) if rows else None


def save_checkpoint(con, state: dict) -> None:
    """Replace a checkpoint row (call inside the unit's transaction)."""
    con.execute(
        "delete from crawl_checkpoints where crawl_id = ? and source_file = ?",
        [state["crawl_id"], state["source_file"]],
    )
    insert_rows(con, "crawl_checkpoints", [{**state, "updated_at": utcnow()}])


def queue_threads(con, crawl_id: str, subreddit: str, source_file: str, ids: list[str]) -> None:
    """Queue not-yet-known threads as pending, in discovery order."""
    known = {
        r[0]
        for r in con.execute(
            "select submission_id from crawl_threads where crawl_id = ?", [crawl_id]
        ).fetchall()
    }
    seq = con.execute(
        "select coalesce(max(seq), 0) from crawl_threads where crawl_id = ?", [crawl_id]
    ).fetchall()[0][0]
    rows = []
    for sid in dict.fromkeys(ids):
        if sid in known:
            continue
        seq += 1
        rows.append(_thread_row(crawl_id, sid, subreddit, source_file, seq))
    insert_rows(con, "crawl_threads", rows)


def _thread_row(crawl_id: str, sid: str, subreddit: str, source_file: str, seq: int) -> dict:
    return {
        "crawl_id": crawl_id,
        "submission_id": sid,
        "subreddit": subreddit,
        "source_file": source_file,
        "seq": seq,
        "status": "pending",
        "updated_at": utcnow(),
    }


def thread_queue(con, crawl_id: str, subreddit: str) -> tuple[list[str], int]:
    """Pending thread ids of a subreddit in discovery order, and its total thread count."""
    rows = con.execute(
        "select submission_id, status from crawl_threads where crawl_id = ? and subreddit = ? "
        "order by seq",
        [crawl_id, subreddit],
    ).fetchall()
    return [sid for sid, status in rows if status == "pending"], len(rows)


def save_thread(con, crawl_id: str, submission_id: str, **fields) -> None:
    """Update a thread's row (status, counts, expansion) inside its transaction."""
    fields["updated_at"] = utcnow()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    con.execute(
        f"update crawl_threads set {assignments} where crawl_id = ? and submission_id = ?",
        [*fields.values(), crawl_id, submission_id],
    )


def record_error(con, crawl_id: str, target: str, kind: str, exc, secrets, transient) -> None:
    """Store one unit's permanent failure (message redacted) inside its transaction."""
    original = getattr(exc, "original_exception", None)
    shown = original if isinstance(original, RetriesExhausted) else exc
    response = getattr(exc, "response", None)
    message = redact(f"{type(shown).__name__}: {shown}", secrets)[:MESSAGE_CHARS]
    con.execute("delete from crawl_errors where crawl_id = ? and target = ?", [crawl_id, target])
    row = {
        "crawl_id": crawl_id,
        "target": target,
        "kind": kind,
        "error_type": type(shown).__name__,
        "http_status": getattr(response, "status_code", None),
        "message": message,
        "transient": bool(transient),
        "occurred_at": utcnow(),
    }
    insert_rows(con, "crawl_errors", [row])


def add_counters(con, crawl_id: str, requests: int, reasons: dict[str, int]) -> None:
    """Add HTTP attempts and retries (by reason) made since the last commit."""
    current = con.execute(
        "select retry_reasons from crawl_runs where crawl_id = ?", [crawl_id]
    ).fetchall()[0][0]
    merged = Counter(json.loads(current or "{}"))
    merged.update(reasons)
    con.execute(
        "update crawl_runs set requests = requests + ?, retries = retries + ?, "
        "retry_reasons = ? where crawl_id = ?",
        [requests, sum(reasons.values()), json.dumps(dict(sorted(merged.items()))), crawl_id],
    )


def active_members(con, crawl_id: str, min_threads: int) -> list[str]:
    """Named commenters of this crawl's threads active in at least ``min_threads`` threads."""
    params = {"crawl_id": crawl_id, "min_threads": min_threads}
    return [r[0] for r in warehouse.query(con, "int_crawl_active_members", params).fetchall()]


def done_members(con, crawl_id: str) -> set[str]:
    """Member-history source files already committed."""
    rows = con.execute(
        "select source_file from crawl_checkpoints where crawl_id = ? and kind = 'member'",
        [crawl_id],
    ).fetchall()
    return {r[0] for r in rows}


def finish(con, crawl_id: str) -> None:
    """Mark the crawl finished (a later crawl with the same settings starts afresh)."""
    con.execute("update crawl_runs set finished_at = ? where crawl_id = ?", [utcnow(), crawl_id])
