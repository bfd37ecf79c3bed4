"""What each stage of a build reused and what it computed: the ``stage_reuse`` rows.

``stage_reuse_rows`` turns a ``build_release`` summary into one row per (stage, unit) with the
units taken over from earlier work (``reused``) and the units this build computed
(``computed``). When the input fingerprint was unchanged the stages between ingest and the
release did not run: their rows count what the warehouse carried over, all reused.
``record_stage_reuse`` appends the rows to the warehouse (the table is a log, never replaced).
Staging is left out: it is a SQL rebuild from the raw tables on every run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

import schemas
import warehouse

COLUMNS = ("stage", "unit", "reused", "computed", "note")


def stage_reuse_rows(summary: dict, *, carried: dict | None = None) -> list[dict]:
    """Rows (stage, unit, reused, computed, note) of a build summary.

    Args:
        summary: The ``build_release`` summary (ingest or crawl, communities, tasks, release).
        carried: Counts of what the warehouse holds (``carried_counts``), keyed by unit; the
            rows of the stages a republished build did not run.
    """
    rows = _source_rows(summary)
    if "communities" in summary:
        built = summary["communities"]
        rows += _embedding_rows(built["embeddings"]) + _community_rows(built["communities"])
        rows += _profile_rows(summary["tasks"]["profiles"])
        rows += _task_rows(summary["tasks"]["tasks"])
    elif summary["release"].get("reused_from"):
        rows += _carried_rows(carried or {}, summary["release"]["reused_from"])
    return rows + _release_rows(summary["release"])


def _row(stage: str, unit: str, reused: int, computed: int, note: str | None = None) -> dict:
    return dict(zip(COLUMNS, (stage, unit, int(reused), int(computed), note), strict=True))


def _source_rows(summary: dict) -> list[dict]:
    if "crawl" in summary:
        crawl = summary["crawl"]
        totals = crawl["totals"]
        note = f"crawl {crawl['crawl_id']}: {crawl['requests']:,} API requests"
        return [_row("crawl", "observations", 0, sum(totals.values()), note)]
    if "ingest" not in summary:
        return []
    files = summary["ingest"]["files"]
    skipped = sum(f["skipped"] for f in files)
    appended = sum(f["submissions"] + f["comments"] for f in files)
    note = f"{appended:,} rows appended" + (f"; {skipped} already ingested" if skipped else "")
    return [_row("ingest", "files", skipped, len(files) - skipped, note)]


def _embedding_rows(emb: dict) -> list[dict]:
    note = f"{emb['model']} @ {emb['revision']}"
    return [_row("embeddings", "texts", emb["cached"], emb["computed"], note)]


def _community_rows(com: dict) -> list[dict]:
    clustered, reused = com["scopes_clustered"], com["scopes_reused"]
    lineage = com["lineage"]
    note = "re-clustered: " + (", ".join(clustered) or "none")
    return [
        _row("communities", "scopes", len(reused), len(clustered), note),
        _row(
            "communities",
            "communities",
            lineage.get("kept", 0),
            lineage.get("new", 0),
            f"ids kept vs new; {lineage.get('vanished', 0)} vanished",
        ),
    ]


def _profile_rows(profiles: dict) -> list[dict]:
    llm = profiles.get("llm")
    methods = ", ".join(f"{k} {v}" for k, v in sorted(profiles["profile_method"].items()))
    if not llm:
        reasons = "; ".join(r.split(" (")[0] for r in profiles.get("fallback_reasons", []))
        note = f"extractive: {reasons}" if reasons else "extractive"
        return [_row("profiles", "profiles", 0, profiles["communities"], note)]
    asked = profiles["communities"] - llm["cache_hits"]
    note = f"{llm['model']}: {llm['requests']} HTTP requests, {llm['failures']} failed; {methods}"
    return [_row("profiles", "llm_answers", llm["cache_hits"], asked, note)]


def _task_rows(tasks: dict) -> list[dict]:
    total = sum(tasks["per_task"].values())
    kept = sum(tasks["instances_kept"].values())
    note = "instance ids the previous build had vs new ones"
    return [_row("tasks", "instances", kept, total - kept, note)]


def _carried_rows(carried: dict, previous: str) -> list[dict]:
    note = f"inputs unchanged since {previous}: not run"
    units = (
        ("embeddings", "texts"),
        ("communities", "scopes"),
        ("communities", "communities"),
        ("profiles", "profiles"),
        ("tasks", "instances"),
    )
    return [_row(stage, unit, carried.get(unit, 0), 0, note) for stage, unit in units]


def _release_rows(release: dict) -> list[dict]:
    if release.get("reused_from"):
        note = f"{release['version']}: files republished from {release['reused_from']}"
        return [_row("release", "releases", 1, 0, note)]
    return [_row("release", "releases", 0, 1, f"{release['version']}: built and validated")]


CARRIED_SQL = {  # name: (tables it reads, count)
    "texts": (("texts",), "select count(distinct text_hash) from texts where clean_text <> ''"),
    "scopes": (("memberships",), "select count(distinct scope) from memberships"),
    "communities": (("communities",), "select count(*) from communities"),
    "profiles": (("profiles",), "select count(*) from profiles"),
    "instances": (
        ("task_pi", "task_dp", "task_ccg", "task_ci"),
        "select (select count(*) from task_pi) + (select count(*) from task_dp)"
        " + (select count(*) from task_ccg) + (select count(*) from task_ci)",
    ),
}


def carried_counts(con) -> dict:
    """What the warehouse holds from the last build that ran the stages (0 where absent)."""
    out = {}
    for name, (tables, sql) in CARRIED_SQL.items():
        present = all(warehouse.table_exists(con, t) for t in tables)
        out[name] = con.execute(sql).fetchall()[0][0] if present else 0
    return out


def record_stage_reuse(warehouse_path: Path, summary: dict) -> list[dict]:
    """Append this build's rows to ``stage_reuse``; return them (for the summary and report)."""
    started = datetime.fromisoformat(summary["started_at"]).astimezone(UTC).replace(tzinfo=None)
    with warehouse.connect(warehouse_path) as con:
        schema = schemas.load_schema("stage_reuse")
        con.execute(schemas.ddl(schema))
        carried = carried_counts(con) if summary["release"].get("reused_from") else None
        rows = stage_reuse_rows(summary, carried=carried)
        stored = [
            {"build_id": summary["release"]["version"], "started_at": started, **r} for r in rows
        ]
        table = pa.Table.from_pylist(stored, schema=schemas.arrow_schema(schema))
        con.register("_stage_reuse", table)
        con.execute("insert into stage_reuse by name select * from _stage_reuse")
        con.unregister("_stage_reuse")
    return rows
