"""stage_reuse: a build summary in, (stage, unit, reused, computed, note) rows out."""

from __future__ import annotations

import warehouse
from communitybench import report
from communitybench.reuse import record_stage_reuse, stage_reuse_rows

INGEST = {
    "files": [
        {"path": "RS_2026-01.zst", "skipped": True, "submissions": 0, "comments": 0},
        {"path": "RC_2026-02.zst", "skipped": False, "submissions": 0, "comments": 40},
    ]
}
BUILT = {
    "embeddings": {"model": "m", "revision": "r", "texts": 100, "cached": 90, "computed": 10},
    "communities": {
        "scopes": [{"scope": "a"}, {"scope": "b"}],
        "scopes_reused": ["a"],
        "scopes_clustered": ["b"],
        "lineage": {"kept": 4, "new": 1, "vanished": 2},
    },
}
TASKS = {
    "profiles": {
        "communities": 5,
        "profile_method": {"llm": 5},
        "fallback_reasons": [],
        "llm": {"model": "qwen", "cache_hits": 4, "requests": 1, "failures": 0},
    },
    "tasks": {
        "per_task": {"pi": 6, "dp": 6, "ccg": 4, "ci": 4},
        "instances_kept": {"pi": 5, "dp": 5, "ccg": 4, "ci": 3},
    },
}


def _plain(rows: list[dict]) -> list[tuple]:
    return [(r["stage"], r["unit"], r["reused"], r["computed"]) for r in rows]


def test_a_build_that_ran_every_stage():
    summary = {
        "ingest": INGEST,
        "communities": BUILT,
        "tasks": TASKS,
        "release": {"version": "2026.01.02"},
    }
    rows = stage_reuse_rows(summary)
    assert _plain(rows) == [
        ("ingest", "files", 1, 1),
        ("embeddings", "texts", 90, 10),
        ("communities", "scopes", 1, 1),
        ("communities", "communities", 4, 1),
        ("profiles", "llm_answers", 4, 1),
        ("tasks", "instances", 17, 3),
        ("release", "releases", 0, 1),
    ]
    notes = {(r["stage"], r["unit"]): r["note"] for r in rows}
    assert notes[("ingest", "files")] == "40 rows appended; 1 already ingested"
    assert notes[("communities", "scopes")] == "re-clustered: b"
    assert notes[("communities", "communities")] == "ids kept vs new; 2 vanished"


def test_extractive_profiles_are_computed_every_build():
    profiles = {
        "communities": 3,
        "profile_method": {"extractive": 3},
        "fallback_reasons": ["no LLM endpoint configured (set COMMUNITYBENCH_LLM_BASE_URL)"],
        "llm": None,
    }
    summary = {
        "communities": BUILT,
        "tasks": {**TASKS, "profiles": profiles},
        "release": {"version": "v"},
    }
    [row] = [r for r in stage_reuse_rows(summary) if r["stage"] == "profiles"]
    assert row == {
        "stage": "profiles",
        "unit": "profiles",
        "reused": 0,
        "computed": 3,
        "note": "extractive: no LLM endpoint configured",
    }


def test_a_republished_build_reports_everything_reused():
    summary = {
        "ingest": {"files": [{**INGEST["files"][0]}]},
        "release": {"version": "v3", "reused_from": "v2"},
    }
    carried = {"texts": 100, "scopes": 2, "communities": 5, "profiles": 5, "instances": 20}
    rows = stage_reuse_rows(summary, carried=carried)
    assert _plain(rows) == [
        ("ingest", "files", 1, 0),
        ("embeddings", "texts", 100, 0),
        ("communities", "scopes", 2, 0),
        ("communities", "communities", 5, 0),
        ("profiles", "profiles", 5, 0),
        ("tasks", "instances", 20, 0),
        ("release", "releases", 1, 0),
    ]
    assert rows[1]["note"] == "inputs unchanged since v2: not run"


def test_rows_are_appended_per_build(tmp_path):
    wh = tmp_path / "wh.duckdb"
    base = {"ingest": {"files": [{**INGEST["files"][0]}]}}
    first = {
        **base,
        "communities": BUILT,
        "tasks": TASKS,
        "started_at": "2026-01-01T00:00:00+00:00",
        "release": {"version": "v1"},
    }
    again = {
        **base,
        "started_at": "2026-01-02T00:00:00+00:00",
        "release": {"version": "v2", "reused_from": "v1"},
    }
    record_stage_reuse(wh, first)
    rows = record_stage_reuse(wh, again)
    with warehouse.connect(wh) as con:
        table = con.execute(
            "select build_id, stage, unit, reused, computed from stage_reuse "
            "order by started_at, stage, unit"
        ).fetchall()
    # no task tables in this warehouse: carried counts are 0, never an error
    assert table == [
        ("v1", "communities", "communities", 4, 1),
        ("v1", "communities", "scopes", 1, 1),
        ("v1", "embeddings", "texts", 90, 10),
        ("v1", "ingest", "files", 1, 0),
        ("v1", "profiles", "llm_answers", 4, 1),
        ("v1", "release", "releases", 0, 1),
        ("v1", "tasks", "instances", 17, 3),
        ("v2", "communities", "communities", 0, 0),
        ("v2", "communities", "scopes", 0, 0),
        ("v2", "embeddings", "texts", 0, 0),
        ("v2", "ingest", "files", 1, 0),
        ("v2", "profiles", "profiles", 0, 0),
        ("v2", "release", "releases", 1, 0),
        ("v2", "tasks", "instances", 0, 0),
    ]
    markdown = report.summary_markdown({"config": "demo", "stage_reuse": rows})
    assert "## reuse per stage" in markdown
    assert "| release | releases | 1 | 0 | v2: files republished from v1 |" in markdown
    assert report.reuse_table(rows).row_count == len(rows)
