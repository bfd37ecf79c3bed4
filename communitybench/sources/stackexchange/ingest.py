"""Stack Exchange site dumps → raw observations, streamed, resumable per file, bad rows quarantined.

Per site, in order (``archive.FILES``):

1. Votes.xml: up (VoteTypeId 2) and down (3) votes counted per post into a DuckDB temp table,
   read line by line (bounded memory whatever the dump's size). Counted again whenever Posts.xml
   still has rows to load; its bad rows are quarantined once.
2. Posts.xml: a first pass collects accepted answer ids and the dump's snapshot time (its latest
   activity: every row is observed then, deterministic unlike the clock); then batches of rows,
   each committed with the file's checkpoint, so an interrupted ingest resumes at the next row and
   a finished file is skipped. Its checkpoint key covers Posts.xml and Votes.xml: a new vote file
   is a new observation of every post.
3. Comments.xml: batches linked to their posts (already in the raw tables); comments on posts the
   warehouse does not hold (tag wikis, filtered posts) are counted as filtered.

Runs, checkpoints and reports are the dump ingest's (``ingest_runs``, ``ingest_files``,
``FileReport``), so both sources share the warehouse's bookkeeping.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from communitybench.sources.dumps.runs import (
    FileReport,
    file_key,
    finish_run,
    first_row,
    start_run,
    write_checkpoint,
)
from communitybench.sources.stackexchange import dump
from communitybench.sources.stackexchange.archive import SiteDump, open_site_dump
from communitybench.sources.stackexchange.batches import (
    COMMENT_COLUMNS,
    POST_COLUMNS,
    Load,
    load_rows,
    progress_bar,
    quarantine,
    read_lines,
)
from warehouse import ensure_tables, set_variables, statement

SE_INGEST_VERSION = "se_v1"  # Stack Exchange site dumps (the ingest stage version carries it)
_ACCEPTED = re.compile(rb'AcceptedAnswerId="(\d+)"')
_ACTIVITY = re.compile(rb'(?:LastActivityDate|CreationDate)="([^"]+)"')


def _checkpoint(con, key: str) -> tuple | None:
    return first_row(
        con.execute("select lines_done, completed from ingest_files where file_key = ?", [key])
    )


def count_votes(
    con, path: Path, *, key: str, run_id: str, first_read: bool, progress
) -> FileReport:
    """Up and down votes per post into the temp table ``_se_votes`` (post_number, ups, downs).

    Bad rows are quarantined when ``first_read`` (the first time the file is read); votes of
    other types (accepted, favourite, close...) are counted as filtered.
    """
    con.execute("create or replace temp table _se_vote_rows (post_number bigint, up boolean)")
    report = FileReport(path=str(path), file_key=key)
    bad, chunk = [], []
    bar = progress_bar(path, progress)
    for number, line in read_lines(path, bar=bar):
        try:
            row = dump.parse_line(line)
            vote = None if row is None else dump.vote_of(row)
        except dump.BadRow as exc:
            bad.append((number, exc.reason, line))
            continue
        report.lines_read += 1
        if vote is None:
            report.filtered += row is not None
            continue
        chunk.append(vote)
        if len(chunk) >= 100_000:
            _append_votes(con, chunk)
            chunk = []
    bar.close()
    _append_votes(con, chunk)
    con.execute(statement("stackexchange_votes"))
    con.execute("begin transaction")
    if first_read:
        quarantine(con, bad, key=key, path=path, run_id=run_id)
        for _, reason, _ in bad:
            report.quarantined[reason] += 1
    write_checkpoint(con, key, path, report.lines_read + len(bad), completed=True)
    con.execute("commit")
    return report


def no_votes(con) -> None:
    """An empty ``_se_votes``: the dump has no Votes.xml (U and D stay null)."""
    con.execute("create or replace temp table _se_vote_rows (post_number bigint, up boolean)")
    con.execute(statement("stackexchange_votes"))


def _append_votes(con, chunk: list[tuple]) -> None:
    if chunk:
        numbers, types = zip(*chunk, strict=True)
        up = [t == int(dump.UP_VOTE) for t in types]
        con.register("_chunk", pa.table({"post_number": list(numbers), "up": up}))
        con.execute("insert into _se_vote_rows select * from _chunk")
        con.unregister("_chunk")


def scan_posts(con, path: Path, *, progress: bool) -> datetime:
    """Accepted answer ids into the temp table ``_se_accepted``; return the snapshot time (the
    latest CreationDate or LastActivityDate in Posts.xml)."""
    accepted, latest = [], b""
    bar = progress_bar(path, progress)
    for _, line in read_lines(path, bar=bar):
        found = _ACCEPTED.search(line)
        if found:
            accepted.append(int(found.group(1)))
        latest = max([latest, *_ACTIVITY.findall(line)])
    bar.close()
    con.execute("create or replace temp table _se_accepted (post_number bigint)")
    con.register("_chunk", pa.table({"post_number": pa.array(accepted, pa.int64())}))
    con.execute("insert into _se_accepted select * from _chunk")
    con.unregister("_chunk")
    return datetime.fromisoformat(latest.decode()) if latest else datetime(1970, 1, 1)


def _posts_key(posts: Path, votes: Path | None) -> str:
    """Posts.xml's checkpoint key: its content key and Votes.xml's (its rows carry the votes)."""
    parts = f"{file_key(posts)}:{file_key(votes) if votes else 'no-votes'}"
    return hashlib.sha256(parts.encode()).hexdigest()


def _start(con, path: Path, key: str) -> FileReport | None:
    """A report resuming from the file's checkpoint; None when the file is finished."""
    done = _checkpoint(con, key)
    if done and done[1]:
        return None
    report = FileReport(path=str(path), file_key=key, resumed_from=done[0] if done else 0)
    write_checkpoint(con, key, path, report.resumed_from, completed=False)
    return report


def ingest_site(con, site: SiteDump, *, run_id: str, dates: tuple, batch_rows: int, progress=True):
    """Ingest one site's Votes.xml, Posts.xml and Comments.xml; return their reports."""
    votes, posts = site.file("Votes.xml"), site.file("Posts.xml")
    prefix = dump.post_id(site.site, "")
    set_variables(con, {"run_id": run_id, "se_votes": votes is not None, "se_prefix": prefix})
    reports = []
    posts_key = _posts_key(posts, votes)
    post_report = _start(con, posts, posts_key)
    if votes is not None:
        votes_key = file_key(votes)
        done = _checkpoint(con, votes_key)
        counted = bool(done and done[1])
        if post_report is None and counted:
            reports.append(FileReport(path=str(votes), file_key=votes_key, skipped=True))
        else:  # the posts need the counts (again, after a crash)
            reports.append(
                count_votes(
                    con,
                    votes,
                    key=votes_key,
                    run_id=run_id,
                    first_read=not counted,
                    progress=progress,
                )
            )
    if post_report is None:
        reports.append(FileReport(path=str(posts), file_key=posts_key, skipped=True))
    else:
        if votes is None:
            no_votes(con)
        set_variables(con, {"retrieved_at": scan_posts(con, posts, progress=progress)})
        load = Load(
            to_row=lambda row: dump.post_row(row, site=site.site),
            columns=POST_COLUMNS,
            statements=("stackexchange_questions", "stackexchange_answers"),
            run_id=run_id,
            dates=dates,
            batch_rows=batch_rows,
        )
        load_rows(con, posts, key=posts_key, report=post_report, load=load, progress=progress)
        reports.append(post_report)
    comments = site.file("Comments.xml")
    if comments is not None:
        load = Load(
            to_row=lambda row: dump.comment_row(row, site=site.site),
            columns=COMMENT_COLUMNS,
            statements=("stackexchange_comments",),
            run_id=run_id,
            dates=dates,
            batch_rows=batch_rows,
        )
        reports.append(_ingest_comments(con, comments, load, progress))
    return reports


def _ingest_comments(con, path: Path, load: Load, progress) -> FileReport:
    key = file_key(path)
    report = _start(con, path, key)
    if report is None:
        return FileReport(path=str(path), file_key=key, skipped=True)
    con.execute(statement("stackexchange_posts"))  # the site's posts: thread and parent per id
    [(snapshot,)] = con.execute("select max(retrieved_at) from _se_posts").fetchall()
    set_variables(con, {"retrieved_at": snapshot or datetime(1970, 1, 1)})
    load_rows(con, path, key=key, report=report, load=load, progress=progress)
    return report


def ingest_sites(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    site: str | None = None,
    work_dir: Path = Path("build/stackexchange"),
    date_from: date | None = None,
    date_to: date | None = None,
    batch_rows: int = 50_000,
    progress: bool = True,
) -> list[FileReport]:
    """Ingest site dumps (folders or ``.7z`` archives) as one run recorded in ``ingest_runs``."""
    ensure_tables(con, layer="raw")
    sites = [open_site_dump(p, site=site, work_dir=work_dir) for p in paths]
    run_id = start_run(con, [Path(p) for p in paths])
    reports = []
    for one in sites:
        reports += ingest_site(
            con,
            one,
            run_id=run_id,
            dates=(date_from, date_to),
            batch_rows=batch_rows,
            progress=progress,
        )
    finish_run(con, run_id, reports)
    return reports
