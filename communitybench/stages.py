"""Stage entry points shared by the CLI and the Prefect tasks.

Each function opens the warehouse itself (one writer at a time), takes plain keyword arguments
and returns a JSON-able summary. Business logic lives in ``transforms/``, SQL in ``warehouse/``
and source readers in ``communitybench/sources``; these functions only connect them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import warehouse
from communitybench.sources.dumps import INGEST_VERSION, ingest_paths

STAGING_VERSION = "staging_v1"


def run_ingest(
    warehouse_path: Path,
    paths: list[Path],
    *,
    subreddits: list[str],
    date_from,
    date_to,
    batch_lines: int,
    max_line_bytes: int,
    progress: bool = True,
) -> dict:
    """Ingest dump files into raw observation tables; return per-file counts."""
    with warehouse.connect(warehouse_path) as con:
        reports = ingest_paths(
            con,
            paths,
            subreddits=subreddits,
            date_from=date_from,
            date_to=date_to,
            batch_lines=batch_lines,
            max_line_bytes=max_line_bytes,
            progress=progress,
        )
    files = []
    for report in reports:
        row = asdict(report)
        row["quarantined"] = dict(sorted(report.quarantined.items()))
        files.append(row)
    return {"version": INGEST_VERSION, "files": files}


def run_staging(
    warehouse_path: Path,
    *,
    min_chars: int,
    max_chars: int,
    bot_names: list[str],
    bot_pattern: str,
    bot_allow: list[str],
    repeat_threads: int,
) -> dict:
    """Rebuild stg_submissions and stg_comments; return row and drop counts per reason."""
    variables = {
        "min_chars": min_chars,
        "max_chars": max_chars,
        "bot_names": list(bot_names),
        "bot_pattern": bot_pattern,
        "bot_allow": list(bot_allow),
        "repeat_threads": repeat_threads,
    }
    summary = {"version": STAGING_VERSION, "tables": {}}
    with warehouse.connect(warehouse_path) as con:
        warehouse.ensure_tables(con, layer="raw")
        for table in ("stg_submissions", "stg_comments"):
            rows = warehouse.materialize(con, table, variables=variables)
            drops = con.execute(
                f"select drop_reason, count(*) from {table} where drop_reason is not null "
                "group by 1 order by 2 desc, 1"
            ).fetchall()
            summary["tables"][table] = {
                "rows": rows,
                "kept": rows - sum(n for _, n in drops),
                "dropped": dict(drops),
            }
    return summary


def staging_kwargs(clean) -> dict:
    """Unpack the [clean] config section into run_staging keyword arguments."""
    return {
        "min_chars": clean.min_chars,
        "max_chars": clean.max_chars,
        "bot_names": clean.bot_names,
        "bot_pattern": clean.bot_pattern,
        "bot_allow": clean.bot_allow,
        "repeat_threads": clean.repeat_threads,
    }
