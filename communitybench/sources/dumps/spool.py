"""Spooled dump ingest for ``[runner] kind = "dask"``: decode on workers, merge in one writer.

The local path (``dumps.ingest_paths``) writes each file straight into the warehouse; on one
machine it stays the fastest, since DuckDB already parses and inserts every batch on all cores.
Past one machine, each dump file is decoded on a Dask worker by the same ``dumps.ingest_file``
into its own spool DuckDB, ``<spool_dir>/<file_key>.duckdb``, whose ``ingest_files`` checkpoint
lets an interrupted decode resume at its next line. The coordinator, the warehouse's only writer,
merges each finished spool in ONE transaction (raw rows, quarantine rows, the file marked
completed), then deletes it. A crash therefore loses and duplicates nothing:

- during a decode: the spool keeps its committed batches; the next run's decode resumes there;
- during a merge: the transaction rolls back and the spool stays; the next run merges it;
- after the commit, before the delete: the file is completed; the next run deletes the spool.

Each file's report is read from the spool's own tables, never from what the worker returned (a
finished spool makes ``ingest_file`` return "skipped"), and has the local path's shape; the rows
are the local path's rows (``INGEST_VERSION``), stamped with the id of the run that merged them.

Workers get only a dump path and the spool dir: both must name the same files on every worker
and on the coordinator (shared storage when the workers run on other machines).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
from tqdm import tqdm

import warehouse
from communitybench.sources.dumps.ingest import ingest_file
from communitybench.sources.dumps.runs import (
    FileReport,
    check_dump_paths,
    file_key,
    finish_run,
    first_row,
    report_row,
    start_run,
    write_checkpoint,
)

# decode_files(paths, *, run_id, spool_dir, **ingest) -> one decode_to_spool result per path,
# in order (the flow passes runner.map_ordered over its decode task)
DecodeFiles = Callable[..., Iterable[dict]]


def spool_path(spool_dir: Path, key: str) -> Path:
    """The spool DuckDB of the dump file with content key ``key``."""
    return Path(spool_dir) / f"{key}.duckdb"


def remove_spool(spool_file: Path) -> None:
    """Delete a spool DuckDB and its write-ahead log, if any."""
    for part in (spool_file, spool_file.with_name(spool_file.name + ".wal")):
        part.unlink(missing_ok=True)


def decode_to_spool(path: Path, *, spool_dir: Path, run_id: str, **ingest) -> dict:
    """Worker side: decode one dump file into its spool (resuming there); return its report.

    ``ingest`` holds ``ingest_file``'s filter and batch arguments. The report is informational:
    a spool finished by an earlier, interrupted run reports "skipped".
    """
    path = Path(path)
    target = spool_path(spool_dir, file_key(path))
    with warehouse.connect(target) as con:
        report = ingest_file(con, path, run_id=run_id, progress=False, **ingest)
    return {**report_row(report), "spool": str(target)}


def ingest_spooled(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    spool_dir: Path,
    decode_files: DecodeFiles,
    progress: bool = True,
    **ingest,
) -> list[FileReport]:
    """Decode the files not yet completed in the warehouse, merging each spool as it arrives.

    One run in ``ingest_runs``, one report per path in order, like ``dumps.ingest_paths``: a
    completed file (or a second path with the same content) reports "skipped".
    """
    check_dump_paths(paths)
    warehouse.ensure_tables(con, layer="raw")
    run_id = start_run(con, paths)
    keyed = [(Path(p), file_key(Path(p))) for p in paths]
    pending = _pending_files(con, keyed, spool_dir)
    decoded = decode_files(list(pending.values()), run_id=run_id, spool_dir=spool_dir, **ingest)
    merged = {}
    bar = tqdm(total=len(pending), desc="decode + merge", unit="file", disable=not progress)
    for (key, path), result in zip(pending.items(), decoded, strict=True):
        if result["file_key"] != key:
            raise RuntimeError(f"{path} changed while it was being ingested; run the ingest again")
        merged[key] = merge_spool(con, path, key=key, spool_dir=spool_dir, run_id=run_id)
        bar.update(1)
    bar.close()
    reports = [
        merged.pop(key, None) or FileReport(path=str(path), file_key=key, skipped=True)
        for path, key in keyed
    ]
    finish_run(con, run_id, reports)
    return reports


def _pending_files(con, keyed: list[tuple[Path, str]], spool_dir: Path) -> dict[str, Path]:
    """File key → first path, for files the warehouse has not completed. A completed file's
    spool is a leftover of a crash between a merge's commit and its delete: removed."""
    completed = {
        k for (k,) in con.execute("select file_key from ingest_files where completed").fetchall()
    }
    pending = {}
    for path, key in keyed:
        if key in completed:
            remove_spool(spool_path(spool_dir, key))
        else:
            pending.setdefault(key, path)
    return pending


def merge_spool(
    con: duckdb.DuckDBPyConnection, path: Path, *, key: str, spool_dir: Path, run_id: str
) -> FileReport:
    """Coordinator side: move one finished spool into the warehouse in ONE transaction (raw rows,
    quarantine rows, the file marked completed), then delete the spool; return the file's report.
    """
    spool_file = spool_path(spool_dir, key)
    literal = "'" + str(spool_file).replace("'", "''") + "'"
    con.execute(f"attach {literal} as _spool (read_only)")
    try:
        con.execute("begin transaction")
        try:
            report, lines_done = _copy_rows(con, path, key=key, run_id=run_id)
            _mark_completed(con, key, path, lines_done)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute("detach _spool")
    remove_spool(spool_file)
    return report


def _copy_rows(con, path: Path, *, key: str, run_id: str) -> tuple[FileReport, int]:
    """Insert the spool's rows past the warehouse's checkpoint for the file (a local ingest may
    have committed its first lines); count them from the spool's tables."""
    done = first_row(
        con.execute(
            "select lines_done, completed from _spool.ingest_files where file_key = ?", [key]
        )
    )
    if not (done and done[1]):
        raise RuntimeError(
            f"the spool of {path} is unfinished after its decode task returned; "
            "run the ingest again (the decode resumes from the spool)"
        )
    after = con.execute(
        "select coalesce(max(lines_done), 0) from ingest_files where file_key = ?", [key]
    ).fetchall()[0][0]
    report = FileReport(path=str(path), file_key=key, resumed_from=after)
    report.lines_read = done[0] - after
    report.submissions = _insert_rows(con, "raw_submissions", after=after, run_id=run_id)
    report.comments = _insert_rows(con, "raw_comments", after=after, run_id=run_id)
    report.quarantined = Counter(
        dict(
            con.execute(
                "select reason, count(*) from _spool.quarantine where source_line > ? group by 1",
                [after],
            ).fetchall()
        )
    )
    _insert_rows(con, "quarantine", after=after, run_id=run_id)
    # every line read is loaded, quarantined or outside the filters
    loaded = report.submissions + report.comments + sum(report.quarantined.values())
    report.filtered = report.lines_read - loaded
    return report, done[0]


def _insert_rows(con, table: str, *, after: int, run_id: str) -> int:
    sql = f"""insert into {table} by name
        select * replace (?::varchar as ingest_run_id) from _spool.{table}
        where source_line > ?"""
    return con.execute(sql, [run_id, after]).fetchall()[0][0]


def _mark_completed(con, key: str, path: Path, lines_done: int) -> None:
    write_checkpoint(con, key, path, lines_done, completed=True)
