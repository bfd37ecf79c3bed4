"""Stage ``ingest``: dump files (Pushshift / Arctic Shift NDJSON, or the demo forum) and Stack
Exchange site dumps (a folder with Posts.xml, or the site's .7z) → raw tables.

Every line lands in ``raw_submissions`` / ``raw_comments`` or in ``quarantine`` with its reason;
each file's checkpoint (``ingest_files``) commits with its rows, so an interrupted ingest resumes
at the next line and a finished file is skipped. On one machine files are read straight into the
warehouse (DuckDB already parses every batch on all cores). When the flow's task runner is Dask,
each file is decoded on a worker into a spool DuckDB and merged here, in one transaction per file
(``communitybench.sources.dumps.spool``), so the warehouse keeps a single writer. Stack Exchange
site dumps are read here (``communitybench.sources.stackexchange.ingest``), with the same
checkpoints, quarantine and per-file reports.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from communitybench import runner
from communitybench.config import (
    BuildConfig,
    FilterConfig,
    IngestConfig,
    RunnerConfig,
    SourceConfig,
)
from communitybench.sources.dumps import spool
from communitybench.sources.dumps.ingest import INGEST_VERSION, ingest_paths
from communitybench.sources.dumps.runs import check_dump_paths, report_row
from communitybench.sources.stackexchange import archive
from communitybench.sources.stackexchange.ingest import SE_INGEST_VERSION, ingest_sites
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from communitybench.stages.demo_forum import demo_files

# the stage's version is the NDJSON dump ingest's; the Stack Exchange ingest's (SE_INGEST_VERSION)
# is recorded beside it in the manifest (the release stage's SUB_VERSIONS)
VERSION = INGEST_VERSION


class Params(StageParams):
    # the dump files: [source] dumps, the demo forum's files, or the files `ingest` is given
    paths: tuple[Path, ...]
    filters: FilterConfig
    ingest: IngestConfig
    runner: RunnerConfig
    spool_dir: Path
    se_work_dir: Path  # [source.stackexchange] work_dir, resolved: .7z archives extract here
    source: SourceConfig

    @classmethod
    def from_config(cls, config: BuildConfig, **extras) -> Params:
        derived = {
            "paths": tuple(dump_paths(config)),
            "spool_dir": config.resolve(config.runner.spool_dir),
            "se_work_dir": config.resolve(config.source.stackexchange.work_dir),
        }
        return super().from_config(config, **{**derived, **extras})


def dump_paths(config: BuildConfig) -> list[Path]:
    """The dump files a config names (the demo forum's files for kind = demo)."""
    if config.source.kind == "demo":
        demo = config.source.demo
        return demo_files(config.resolve(demo.out_dir), demo.months)
    return [config.resolve(p) for p in config.source.dumps]


def run(con, params: Params) -> StageResult:
    """Ingest every file (skipping finished ones); report per-file counts."""
    paths = list(params.paths)
    site_dumps = [p for p in paths if archive.is_site_dump(p)]
    paths = [p for p in paths if p not in site_dumps]
    check_paths(paths + site_dumps)
    files = [report_row(r) for r in _ingest_site_dumps(con, site_dumps, params)]
    if site_dumps and not paths:
        return ingest_result(files, "local", runs=1)
    settings = {
        "subreddits": list(params.filters.subreddits),
        "date_from": params.filters.date_from,
        "date_to": params.filters.date_to,
        "batch_lines": params.ingest.batch_lines,
        "max_line_bytes": params.ingest.max_line_bytes,
    }
    if runner.distributed():

        def on_workers(files, **kwargs):
            window = runner.window_size(params.runner)
            return runner.map_ordered(spool.decode_to_spool, files, window=window, **kwargs)

        reports = spool.ingest_spooled(
            con, paths, spool_dir=params.spool_dir, decode_files=on_workers, **settings
        )
        where = runner.describe(params.runner)
    else:  # no Dask task runner (a local flow, or no flow): this process reads every file
        reports = ingest_paths(con, paths, **settings)
        where = "local"
    runs = 1 + bool(site_dumps)
    return ingest_result(files + [report_row(r) for r in reports], where, runs=runs)


def check_paths(paths: list[Path]) -> None:
    """Dump files must exist; Stack Exchange dumps must be a folder with Posts.xml or a .7z."""
    check_dump_paths([p for p in paths if not archive.is_site_dump(p)])
    for path in paths:
        if archive.is_site_dump(path):
            archive.check_site_dump(path)


def _ingest_site_dumps(con, paths: list[Path], params: Params) -> list:
    """Stack Exchange site dumps (read in this process: XML rows are parsed one by one)."""
    if not paths:
        return []
    se = params.source.stackexchange
    return ingest_sites(
        con,
        paths,
        site=se.site,
        work_dir=params.se_work_dir,
        date_from=params.filters.date_from,
        date_to=params.filters.date_to,
        batch_rows=se.batch_rows,
    )


def ingest_result(files: list[dict], where: str, runs: int = 1) -> StageResult:
    """The stage result of per-file reports (``runs.report_row`` dicts).

    Rows are those this run appended (raw rows, quarantine rows, one checkpoint per file read,
    one run); dropped lines are the quarantined ones by reason plus, as ``filtered``, the valid
    ones outside the configured ``[filters]``.
    """
    skipped = sum(f["skipped"] for f in files)
    quarantined = Counter()
    for f in files:
        quarantined.update(f["quarantined"])
    appended = {
        "raw_submissions": sum(f["submissions"] for f in files),
        "raw_comments": sum(f["comments"] for f in files),
        "quarantine": sum(quarantined.values()),
        "ingest_files": len(files) - skipped,
        "ingest_runs": runs,
    }
    dropped = quarantined + Counter(filtered=sum(f["filtered"] for f in files))
    rows = sum(appended[t] for t in ("raw_submissions", "raw_comments"))
    note = f"{rows:,} rows appended" + (f"; {skipped} already ingested" if skipped else "")
    return StageResult(
        name="ingest",
        version=VERSION,
        work=(Work("files", computed=len(files) - skipped, reused=skipped, note=note),),
        dropped=dict(sorted(dropped.items())),
        rows=appended,
        tables=(file_table(files),),
        details={
            "version": VERSION,
            "stackexchange_version": SE_INGEST_VERSION,
            "files": files,
            "runner": where,
        },
    )


def file_table(files: list[dict]) -> Table:
    """One row per file: lines read, rows loaded, lines filtered out and quarantined."""
    return Table(
        "ingest: per file",
        ("file", "lines read", "submissions", "comments", "filtered", "quarantined"),
        tuple(
            (Path(f["path"]).name, "already ingested", None, None, None, None)
            if f["skipped"]
            else (
                Path(f["path"]).name,
                f["lines_read"],
                f["submissions"],
                f["comments"],
                f["filtered"],
                dict(f["quarantined"]) or 0,
            )
            for f in files
        ),
    )


STAGE = Stage(
    name="ingest",
    version=VERSION,
    params=Params,
    run=run,
    doc="stream dump files and Stack Exchange site dumps into the raw observation tables "
    "(bad lines to quarantine)",
    outputs=("raw_submissions", "raw_comments", "quarantine", "ingest_files", "ingest_runs"),
    when=lambda config: config.source.kind in ("demo", "dumps", "stackexchange"),
    # the demo forum's files do not exist before a run whose demo_forum stage writes them
    check=lambda params, selected: (
        None if "demo_forum" in selected else check_paths(list(params.paths))
    ),
)
