"""communitybench/pipeline.py: the ordered stage list, input checks that name the producing
stage, the preflight that fails before Prefect starts, ``execute`` (the one path every caller
takes), ``carry`` for skipped stages and the ``stage_reuse`` log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import warehouse
from communitybench import pipeline
from communitybench.config import UsageError
from communitybench.stage import StageResult, Work
from communitybench.stages import STAGES
from tests.fixtures.demo import config_for, demo_config, read
from warehouse import StageInputError

ORDER = [
    "demo_forum",
    "ingest",
    "crawl",
    "staging",
    "texts",
    "embeddings",
    "members",
    "communities",
    "labels",
    "profiles",
    "tasks",
    "release",
    "views",
]


def test_the_pipeline_is_one_ordered_list_of_uniquely_named_stages():
    assert [s.name for s in STAGES] == ORDER
    assert pipeline.versions() == {s.name: s.version for s in STAGES}
    assert pipeline.stage("tasks") is STAGES[ORDER.index("tasks")]
    with pytest.raises(UsageError, match="no stage 'task'; the stages are: demo_forum, ingest"):
        pipeline.stage("task")


def test_select_keeps_pipeline_order_and_the_stages_for_the_source(tmp_path):
    demo = demo_config(tmp_path)
    dumps = config_for([tmp_path / "RC.zst"])
    reddit = dumps.model_copy(update={"source": dumps.source.model_copy(update={"kind": "reddit"})})
    names = ["tasks", "staging", "demo_forum", "ingest"]
    assert [s.name for s in pipeline.select(demo, names)] == [
        "demo_forum",
        "ingest",
        "staging",
        "tasks",
    ]
    assert [s.name for s in pipeline.select(dumps, ["tasks", "ingest", "staging"])] == [
        "ingest",
        "staging",
        "tasks",
    ]
    assert [s.name for s in pipeline.select(reddit, ["tasks", "crawl", "staging"])] == [
        "crawl",
        "staging",
        "tasks",
    ]
    # naming a stage the source does not use is an error, not a run that does nothing
    for config, idle in ((demo, "crawl"), (dumps, "demo_forum"), (reddit, "ingest")):
        with pytest.raises(UsageError, match=f"{idle} do not apply to \\[source\\] kind"):
            pipeline.select(config, ["staging", idle])
    assert [s.name for s in pipeline.select(demo)] == [n for n in ORDER if n != "crawl"]


def test_every_input_is_written_by_an_earlier_stage_or_is_an_ingested_table():
    produced = set()
    for stage in STAGES:
        assert set(stage.inputs) <= produced, stage.name
        produced |= set(stage.outputs)
    assert pipeline.producers("task_pi") == ["tasks"]
    assert pipeline.producers("raw_comments") == ["ingest", "crawl"]


def test_check_inputs_names_the_missing_tables_and_the_stage_that_writes_them(con):
    stages = [pipeline.stage(n) for n in ("staging", "texts", "embeddings")]
    pipeline.check_inputs(con, stages)  # raw tables exist; the rest come from earlier stages
    with pytest.raises(StageInputError) as info:
        pipeline.check_inputs(con, [pipeline.stage("texts")])
    assert str(info.value).startswith(
        "stage texts needs the stg_comments, stg_submissions table(s), which the warehouse "
        "does not have yet: run the stage that writes them (staging) first"
    )
    with pytest.raises(StageInputError, match=r"\(communities or labels or profiles or staging\)"):
        pipeline.check_inputs(con, [pipeline.stage("tasks")])


def test_preflight_fails_before_prefect_starts(tmp_path, monkeypatch):
    import flows.pipeline

    class NoFlow:
        def with_options(self, **kwargs):
            raise AssertionError("the flow must not start when the preflight fails")

    monkeypatch.setattr(flows.pipeline, "run_stages", NoFlow())
    wh = tmp_path / "wh.duckdb"
    config = demo_config(tmp_path)
    with pytest.raises(StageInputError, match="stage tasks needs the option_sets"):
        flows.pipeline.run(config, wh, ["tasks"])
    assert not wh.exists()  # nothing was created either
    missing = config_for([tmp_path / "RC_missing.zst"])
    with pytest.raises(FileNotFoundError, match="RC_missing.zst"):
        flows.pipeline.run(missing, wh, ["ingest"])
    takedowns = demo_config(tmp_path, clean={"takedowns": tmp_path / "nope.txt"})
    with pytest.raises(FileNotFoundError, match=r"takedown list .*nope.txt \(clean.takedowns\)"):
        flows.pipeline.run(takedowns, wh, ["staging"])


def test_execute_runs_one_stage_and_counts_the_rows_it_wrote(demo_build, demo_copy):
    [(texts,)] = read(demo_copy, "select count(*) from texts")
    read_back = read(
        demo_copy,
        "select count(*) from (select id from stg_comments where drop_reason is null "
        "union all select id from stg_submissions where drop_reason is null)",
    )
    with warehouse.connect(demo_copy) as con:
        con.execute("delete from texts")
    result = pipeline.execute(pipeline.stage("texts"), demo_build.config, demo_copy)
    assert result.name == "texts" and result.version == pipeline.stage("texts").version
    assert result.rows == {"texts": texts} and texts > 0
    assert result.counts("texts").computed == texts
    assert texts == read_back[0][0]  # one text per kept item


def test_execute_checks_the_inputs_of_the_stage(tmp_path, demo_build):
    wh = tmp_path / "empty.duckdb"
    with pytest.raises(StageInputError, match="stage labels needs the stg_comments"):
        pipeline.execute(pipeline.stage("labels"), demo_build.config, wh)


def test_carry_reports_what_the_warehouse_carries_over(demo_build, demo_copy):
    wh = demo_copy
    [(texts,)] = read(wh, "select count(*) from texts")
    [(members,)] = read(wh, "select count(*) from members")
    note = "inputs unchanged since v1: not run"
    result = pipeline.carry(pipeline.stage("texts"), demo_build.config, wh, previous="v1")
    assert result.work == (Work("texts", computed=0, reused=texts, note=note),)
    assert result.details == {"carried_from": "v1"} and result.notes == ()
    members_result = pipeline.carry(pipeline.stage("members"), demo_build.config, wh, previous="v1")
    assert members_result.work == (Work("members", reused=members, note=note),)
    views = pipeline.carry(pipeline.stage("views"), demo_build.config, wh, previous="v1")
    assert views.work == () and views.notes == (note,)  # nothing counted: the note says why


def test_stage_reuse_rows_are_appended_per_build(wh_path):
    first = [
        StageResult("ingest", "i", work=(Work("files", computed=1, reused=1, note="2 files"),)),
        StageResult("release", "r", work=(Work("releases", computed=1),)),
    ]
    again = [StageResult("release", "r", work=(Work("releases", reused=1, note="from v1"),))]
    day = datetime(2026, 1, 1, tzinfo=UTC)
    rows = pipeline.record_reuse(wh_path, first, build_id="v1", started_at=day)
    assert rows == [
        {"stage": "ingest", "unit": "files", "reused": 1, "computed": 1, "note": "2 files"},
        {"stage": "release", "unit": "releases", "reused": 0, "computed": 1, "note": None},
    ]
    pipeline.record_reuse(wh_path, again, build_id="v2", started_at=day.replace(day=2))
    assert read(
        wh_path,
        "select build_id, started_at::varchar, stage, unit, reused, computed, note "
        "from stage_reuse order by started_at, stage",
    ) == [
        ("v1", "2026-01-01 00:00:00", "ingest", "files", 1, 1, "2 files"),
        ("v1", "2026-01-01 00:00:00", "release", "releases", 0, 1, None),
        ("v2", "2026-01-02 00:00:00", "release", "releases", 1, 0, "from v1"),
    ]
