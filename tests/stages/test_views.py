"""Stage ``views`` on the demo build: every view whose sources exist is created, documented by
its contract; the others are skipped with a note naming the missing tables."""

from __future__ import annotations

from communitybench import pipeline
from communitybench.stage import Work
from tests.fixtures.demo import read
from tests.fixtures.release import assign_splits


def test_views_over_the_marts_that_exist(demo_copy, demo_build):
    stage = pipeline.stage("views")
    result = pipeline.execute(stage, demo_build.config, demo_copy)
    # the demo build stops at the task tables: no instance_splits before a release
    assert result.work == (Work("views", computed=3),)
    assert result.dropped == {"missing_source_tables": 1}
    assert result.notes == ("v_instances skipped: no instance_splits yet",)
    assert result.details["created"] == [
        "v_community_summary",
        "v_drop_reasons",
        "v_ingest_summary",
    ]
    described = read(
        demo_copy,
        "select view_name from duckdb_views() where view_name like 'v\\_%' escape '\\' "
        "and comment is not null order by 1",
    )
    assert [v for (v,) in described] == result.details["created"]

    assign_splits(demo_copy, demo_build.config)
    again = pipeline.execute(stage, demo_build.config, demo_copy)
    assert again.work == (Work("views", computed=4),) and again.dropped == {}
    [(instances,)] = read(demo_copy, "select count(*) from v_instances where split is not null")
    [(splits,)] = read(demo_copy, "select count(*) from instance_splits")
    assert instances == splits > 0
