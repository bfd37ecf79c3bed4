"""Bookkeeping of dump ingest runs: file keys, per-file reports and checkpoints, ``ingest_runs``.

Shared by the local path (``ingest.py``, straight into the warehouse) and the Dask path
(``spool.py``, decoded into spools and merged): both report files as ``FileReport`` and record
runs and checkpoints the same way.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb


@dataclass
class FileReport:
    """What one file contributed."""

    path: str
    file_key: str
    skipped: bool = False
    resumed_from: int = 0
    lines_read: int = 0
    submissions: int = 0
    comments: int = 0
    filtered: int = 0
    quarantined: Counter = field(default_factory=Counter)


def file_key(path: Path) -> str:
    """Content key: sha256 over the size and the first and last MiB (cheap for huge dumps)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(size - (1 << 20))
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()


def report_row(report: FileReport) -> dict:
    """A JSON-able file report (quarantine counts sorted by reason)."""
    row = asdict(report)
    row["quarantined"] = dict(sorted(report.quarantined.items()))
    return row


def first_row(result) -> tuple | None:
    """The first row of a result, or None; fetches it all (DuckDB 2 keeps a result open until
    every row is fetched, which blocks the next statement on the connection)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def write_checkpoint(con, key: str, path: Path, lines_done: int, *, completed: bool) -> None:
    """Record how far ingestion of a file got (replaces its ``ingest_files`` row)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("delete from ingest_files where file_key = ?", [key])
    con.execute(
        "insert into ingest_files values (?, ?, ?, ?, ?, ?)",
        [key, path.name, path.stat().st_size, lines_done, completed, now],
    )


def new_run_id(paths: list[Path]) -> str:
    """Ingest run id: UTC start time plus a short hash of the inputs."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256("\n".join(sorted(map(str, paths))).encode()).hexdigest()[:8]
    return f"ingest-{stamp}-{digest}-{os.getpid()}"


def check_dump_paths(paths: list[Path]) -> None:
    """Raise FileNotFoundError naming every path that is missing or not a file."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"dump file(s) not found: {', '.join(missing)}")


def start_run(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> str:
    """Record a new ingest run in ``ingest_runs`` (counts zero, unfinished); return its id."""
    run_id = new_run_id(list(paths))
    started = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "insert into ingest_runs values (?, ?, null, ?, 0, 0, 0, 0, 0)",
        [run_id, started, [str(p) for p in paths]],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, reports: list[FileReport]) -> None:
    """Close an ingest run: its finish time and the totals of its per-file reports."""
    con.execute(
        """update ingest_runs set finished_at = ?, lines_read = ?, submissions_loaded = ?,
        comments_loaded = ?, filtered = ?, quarantined = ? where ingest_run_id = ?""",
        [
            datetime.now(UTC).replace(tzinfo=None),
            sum(r.lines_read for r in reports),
            sum(r.submissions for r in reports),
            sum(r.comments for r in reports),
            sum(r.filtered for r in reports),
            sum(sum(r.quarantined.values()) for r in reports),
            run_id,
        ],
    )
