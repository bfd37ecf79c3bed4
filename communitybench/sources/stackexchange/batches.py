"""Batches of Stack Exchange rows into the raw tables: lines read one by one (bounded memory),
each batch committed with its quarantine rows and the file's checkpoint (``ingest_files``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from communitybench.sources.dumps.runs import FileReport, write_checkpoint
from communitybench.sources.stackexchange import dump
from warehouse import statement

QUARANTINE_TEXT_CHARS = 2_000
POST_COLUMNS = {
    "obs_id": pa.string(),
    "post_number": pa.int64(),
    "kind": pa.string(),
    "id": pa.string(),
    "link_id": pa.string(),
    "parent_id": pa.string(),
    "subreddit": pa.string(),
    "author": pa.string(),
    "title": pa.string(),
    "selftext": pa.string(),
    "body": pa.string(),
    "score": pa.int64(),
    "num_comments": pa.int64(),
    "url": pa.string(),
    "created_utc": pa.timestamp("us"),
    "stickied": pa.bool_(),
    "status": pa.string(),
    "source": pa.string(),
}
COMMENT_COLUMNS = {
    "obs_id": pa.string(),
    "id": pa.string(),
    "post_ref": pa.string(),
    "subreddit": pa.string(),
    "author": pa.string(),
    "body": pa.string(),
    "score": pa.int64(),
    "ups": pa.int64(),
    "downs": pa.int64(),
    "created_utc": pa.timestamp("us"),
    "stickied": pa.bool_(),
    "status": pa.string(),
    "source": pa.string(),
}


def read_lines(path: Path, *, skip: int = 0, bar: tqdm | None = None) -> Iterator[tuple]:
    """(1-based line number, raw line) after the first ``skip`` lines."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if bar is not None:
                bar.update(len(line))
            if number > skip:
                yield number, line


def _bar(path: Path, progress: bool) -> tqdm:
    total = path.stat().st_size
    return tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress)


def progress_bar(path: Path, progress: bool) -> tqdm:
    total = path.stat().st_size
    return tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress)


def quarantine(con, rows: list[tuple], *, key: str, path: Path, run_id: str) -> None:
    """Bad rows with their reason (the line truncated to 2,000 characters)."""
    if rows:
        con.executemany(
            "insert into quarantine values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    key,
                    str(path),
                    number,
                    reason,
                    raw[: QUARANTINE_TEXT_CHARS * 4].decode("utf-8", "replace")[
                        :QUARANTINE_TEXT_CHARS
                    ],
                    len(raw),
                    run_id,
                )
                for number, reason, raw in rows
            ],
        )


def _in_dates(created: datetime, dates: tuple) -> bool:
    date_from, date_to = dates
    day = created.date()
    return (date_from is None or day >= date_from) and (date_to is None or day < date_to)


@dataclass(frozen=True)
class Load:
    """How one file's rows are loaded: row maker, batch columns, insert statements, settings."""

    to_row: Callable[[dict], dict | None]
    columns: dict
    statements: tuple[str, ...]
    run_id: str
    dates: tuple
    batch_rows: int


def load_rows(con, path: Path, *, key: str, report: FileReport, load: Load, progress) -> None:
    """Batches of rows through the load's statements (reading ``_se_rows``); each batch commits
    with its quarantine rows and the file's checkpoint, so a crash loses no committed row."""
    batch, bad, last = [], [], report.resumed_from
    bar = progress_bar(path, progress)
    for number, line in read_lines(path, skip=report.resumed_from, bar=bar):
        last = number
        try:
            parsed = dump.parse_line(line)
            row = None if parsed is None else load.to_row(parsed)
        except dump.BadRow as exc:
            bad.append((number, exc.reason, line))
            continue
        report.lines_read += 1
        if row is None or not _in_dates(row["created_utc"], load.dates):
            report.filtered += parsed is not None
        else:
            batch.append({**row, "obs_id": f"{key[:16]}:{number}", "source_line": number})
        if len(batch) + len(bad) >= load.batch_rows:
            _commit_batch(con, batch, bad, key=key, path=path, last=last, report=report, load=load)
            batch, bad = [], []
    bar.close()
    _commit_batch(con, batch, bad, key=key, path=path, last=last, report=report, load=load)
    write_checkpoint(con, key, path, last, completed=True)


def _commit_batch(con, batch, bad, *, key, path, last, report, load: Load) -> None:
    """One transaction: the batch's raw rows, its quarantine rows and the checkpoint."""
    schema = pa.schema([*load.columns.items(), ("source_line", pa.int64())])
    con.register("_se_rows", pa.Table.from_pylist(batch, schema=schema))
    con.execute("begin transaction")
    try:
        written = [con.execute(statement(name)).fetchall()[0][0] for name in load.statements]
        quarantine(con, bad, key=key, path=path, run_id=load.run_id)
        write_checkpoint(con, key, path, last, completed=False)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_se_rows")
    if len(written) == 2:  # questions, answers
        report.submissions += written[0]
        report.comments += written[1]
    else:  # comments: those on posts the warehouse does not hold are filtered
        report.comments += written[0]
        report.filtered += len(batch) - written[0]
    for _, reason, _ in bad:
        report.quarantined[reason] += 1
