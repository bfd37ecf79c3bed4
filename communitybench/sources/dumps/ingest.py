"""Dump ingestion: Pushshift / Arctic Shift NDJSON (plain, .gz, .zst) into raw observations.

Each batch of lines is parsed by DuckDB's JSON functions (vectorised), classified into comments,
submissions or quarantine, and committed together with the file's checkpoint, so an interrupted
ingest resumes at the next line and re-ingesting a finished file adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from tqdm import tqdm

from communitybench.sources.dumps.lines import (
    LineBatch,
    iter_line_batches,
    open_decompressed,
    prefetch,
)
from communitybench.sources.dumps.runs import (
    FileReport,
    check_dump_paths,
    file_key,
    finish_run,
    first_row,
    start_run,
    write_checkpoint,
)
from warehouse import ensure_tables, set_variables, statement

INGEST_VERSION = "ingest_v1"
QUARANTINE_TEXT_CHARS = 2_000
SCAN_CHUNK = 16_384


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    run_id: str,
    subreddits: list[str],
    date_from: date | None,
    date_to: date | None,
    batch_lines: int,
    max_line_bytes: int,
    progress: bool = True,
) -> FileReport:
    """Ingest one dump file (resuming from its checkpoint); return its report."""
    ensure_tables(con, layer="raw")
    # Insertion order kept (DuckDB's default): without it each thread writes its own partial
    # row groups, which the checkpoint then merges. Measured on 400k comments (bench/ingest.py):
    # insert 2.5 s + 1.1 s at close, 65 MB, against 3.0 s + 0.02 s, 40 MB in order.
    con.execute("set preserve_insertion_order = true")
    path = Path(path)
    key = file_key(path)
    report = FileReport(path=str(path), file_key=key)
    done = first_row(
        con.execute("select lines_done, completed from ingest_files where file_key = ?", [key])
    )
    if done and done[1]:
        report.skipped = True
        return report
    report.resumed_from = done[0] if done else 0
    write_checkpoint(con, key, path, report.resumed_from, completed=False)
    params = _filter_params(subreddits, date_from, date_to, path)
    stream, counter = open_decompressed(path)
    params["array_lines"] = _is_json_array(open_decompressed(path)[0])
    size = path.stat().st_size
    bar = tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress)
    with stream:
        batches = iter_line_batches(
            stream,
            batch_lines=batch_lines,
            max_line_bytes=max_line_bytes,
            skip_lines=report.resumed_from,
        )
        for batch in prefetch(batches):
            _load_batch(con, batch, key=key, path=path, run_id=run_id, params=params, report=report)
            bar.update(counter.consumed - bar.n)
    bar.close()
    last = max(report.resumed_from, _last_line(con, key, report))
    write_checkpoint(con, key, path, last, completed=True)
    return report


def _is_json_array(stream) -> bool:
    """A file whose first non-blank byte is '[' is a JSON array written one record per line."""
    with stream:
        head = stream.read(4096).lstrip()
    return head.startswith(b"[")


def _last_line(con, key: str, report: FileReport) -> int:
    row = first_row(con.execute("select lines_done from ingest_files where file_key = ?", [key]))
    return row[0] if row else report.lines_read


def _filter_params(subreddits, date_from, date_to, path: Path) -> dict:
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
    to_ts = lambda d: None if d is None else datetime(d.year, d.month, d.day)  # noqa: E731
    return {
        "subreddits": [s.lower() for s in subreddits],
        "date_from": to_ts(date_from),
        "date_to": to_ts(date_to),
        "fallback_retrieved": mtime,
    }


def _load_batch(con, batch: LineBatch, *, key, path, run_id, params, report) -> None:
    """Parse and classify one batch, then commit its rows together with the file checkpoint."""
    table = pa.Table.from_arrays([batch.line_numbers, batch.lines], names=["line_no", "line"])
    # several record batches let DuckDB parse and insert on every core (one chunk = one thread)
    con.register("_batch", pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_CHUNK)))
    try:
        set_variables(
            con,
            {
                **params,
                "file_key": key,
                "source_file": path.name,
                "source_path": str(path),
                "run_id": run_id,
            },
        )
        primary = "submission" if path.name.upper().startswith("RS") else "comment"
        counts = _commit_batch(
            con,
            batch,
            key=key,
            path=path,
            run_id=run_id,
            primary=primary,
            filters=_filter_sql(params),
        )
    finally:
        con.unregister("_batch")
    sub, com, valid, reasons = counts
    report.lines_read += batch.size
    report.submissions += sub
    report.comments += com
    report.filtered += valid - sub - com
    for reason, count in reasons:
        report.quarantined[reason] += count
    for _, reason, _ in batch.rejected:
        report.quarantined[reason] += 1


def _commit_batch(con, batch: LineBatch, *, key, path, run_id, primary: str, filters: str) -> tuple:
    """One transaction: raw rows, quarantine rows and the checkpoint land together or not.

    Lines are parsed optimistically (one JSON parse each); a batch with malformed JSON makes
    DuckDB raise, and is redone with ``json_valid`` guarding every line.
    """
    for validate in (False, True):
        con.execute(f"set variable validate = {str(validate).lower()}")
        con.execute("begin transaction")
        try:
            counts = _insert_batch(con, batch, primary=primary, filters=filters)
            _quarantine_rejected(con, batch.rejected, key=key, path=path, run_id=run_id)
            write_checkpoint(con, key, path, batch.last_line, completed=False)
            con.execute("commit")
            return counts
        except duckdb.InvalidInputException:
            con.execute("rollback")
            if validate:
                raise
        except BaseException:
            con.execute("rollback")
            raise
    raise AssertionError("unreachable")


def _insert_batch(con, batch: LineBatch, *, primary: str, filters: str) -> tuple:
    """Fast path: insert the file's primary kind straight from the parse. Only a batch holding
    anything else (the other kind, filtered or bad lines) is parsed again into ``_parsed``."""
    parse = f"({statement('parse_batch')})"
    other = "submission" if primary == "comment" else "comment"
    counts = {primary: _insert_kind(con, primary, parse, filters), other: 0}
    reasons, valid = [], counts[primary]
    if counts[primary] < len(batch.lines):
        con.execute(f"create or replace temp table _parsed as select * from {parse}")
        counts[other] = _insert_kind(con, other, "_parsed", filters)
        reasons = con.execute(statement("insert_quarantine")).fetchall()
        valid = con.execute("select count(*) from _parsed where reason is null").fetchall()[0][0]
    return counts["submission"], counts["comment"], valid, reasons


def _insert_kind(con, kind: str, parsed: str, filters: str) -> int:
    name = "insert_comments" if kind == "comment" else "insert_submissions"
    sql = statement(name).replace("{parsed}", parsed).replace("{filters}", filters)
    return con.execute(sql).fetchall()[0][0]


def _filter_sql(params: dict) -> str:
    """Filter clauses only for the filters that are set (a per-row no-op costs real time)."""
    clauses = []
    if params["subreddits"]:
        clauses.append("list_contains(getvariable('subreddits'), lower(subreddit))")
    if params["date_from"] is not None:
        clauses.append("created_utc >= getvariable('date_from')")
    if params["date_to"] is not None:
        clauses.append("created_utc < getvariable('date_to')")
    return "".join(f"and {c}\n    " for c in clauses)


def _quarantine_rejected(con, rejected, *, key, path, run_id) -> None:
    if not rejected:
        return
    rows = [
        (
            key,
            str(path),
            number,
            reason,
            raw[: QUARANTINE_TEXT_CHARS * 4]
            .decode("utf-8", "replace")
            .replace("\x00", "\\0")[:QUARANTINE_TEXT_CHARS],
            len(raw),
            run_id,
        )
        for number, reason, raw in rejected
    ]
    con.executemany("insert into quarantine values (?, ?, ?, ?, ?, ?, ?)", rows)


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    subreddits: list[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    batch_lines: int = 250_000,
    max_line_bytes: int = 1_000_000,
    progress: bool = True,
) -> list[FileReport]:
    """Ingest several files as one run recorded in ``ingest_runs``; return per-file reports.

    The local path: files one after another, straight into the warehouse. On one machine this is
    the fastest way, as DuckDB already parses and inserts each batch on every core. The Dask path
    (``communitybench.sources.dumps.spool``) decodes files on workers and merges the results here.
    """
    ensure_tables(con, layer="raw")
    check_dump_paths(paths)
    run_id = start_run(con, paths)
    reports = []
    for path in paths:
        reports.append(
            ingest_file(
                con,
                Path(path),
                run_id=run_id,
                subreddits=list(subreddits),
                date_from=date_from,
                date_to=date_to,
                batch_lines=batch_lines,
                max_line_bytes=max_line_bytes,
                progress=progress,
            )
        )
    finish_run(con, run_id, reports)
    return reports
