"""GX gates generated from schemas: pass on valid tables, fail on broken fixtures naming the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from communitybench.release.validation import ValidationFailed, expectations_for, validate_tables
from schemas import load_schema
from tests import release_fixtures as fx

TASKS = ["task_pi", "task_dp", "task_ccg", "task_ci"]


@pytest.fixture
def task_con(tmp_path):
    con = fx.build(tmp_path / "wh.duckdb")
    yield con
    con.close()


def _fail_lines(summary) -> list[str]:
    return [f.line() for f in summary.failures]


def test_every_table_schema_yields_a_suite():
    import schemas

    for schema in schemas.all_schemas():
        expectations = expectations_for(schema)
        assert len(expectations) >= 1 + sum(not c.nullable for c in schema.columns), schema.name


def test_valid_task_tables_pass_and_docs_are_built(task_con, tmp_path):
    summary = validate_tables(task_con, TASKS + ["stg_comments"], docs_dir=tmp_path / "docs")
    assert summary.success, _fail_lines(summary)
    assert summary.tables["task_pi"]["rows"] == 12 and summary.tables["task_pi"]["failed"] == 0
    assert (tmp_path / "docs" / "index.html").exists()
    assert list((tmp_path / "docs" / "validations").rglob("*.html"))


def test_distribution_not_summing_to_one_names_the_row(task_con):
    bad = fx.iid("dp", 4)
    task_con.execute(
        "update task_dp set distribution = [0.5, 0.3, 0.1] where instance_id = ?", [bad]
    )
    summary = validate_tables(task_con, ["task_dp"])
    [failure] = summary.failures
    assert failure.column == "__sum_distribution" and failure.failing_keys == [{"instance_id": bad}]


def test_duplicated_instance_id_names_the_id(task_con):
    fx.insert(task_con, "task_pi", fx.rows("pi", 3))
    summary = validate_tables(task_con, ["task_pi"])
    [failure] = [f for f in summary.failures if f.expectation.endswith("to_be_unique")]
    assert failure.failing_keys == [{"instance_id": fx.iid("pi", 3)}]


def test_username_in_an_exported_column_is_caught(task_con):
    pi, ci = fx.iid("pi", 5), fx.iid("ci", 2)
    task_con.execute(
        "update task_pi set option_ids = ['t1_x', 'quiet_otter_42', 't1_z'] where instance_id = ?",
        [pi],
    )
    task_con.execute(
        """update task_ci set candidate_profiles = '["by BakeMaster3000"]'
                        where instance_id = ?""",
        [ci],
    )
    summary = validate_tables(task_con, ["task_pi", "task_ci"])
    failing = {(f.table, f.column): f.failing_keys for f in summary.failures}
    assert failing == {
        ("task_pi", "__username_hits"): [{"instance_id": pi}],
        ("task_ci", "__username_hits"): [{"instance_id": ci}],
    }


def test_label_out_of_range_and_ci_label_not_the_true_community(task_con):
    pi, ci = fx.iid("pi", 7), fx.iid("ci", 7)
    task_con.execute("update task_pi set label = 3 where instance_id = ?", [pi])
    task_con.execute("update task_ci set label = 1 - label where instance_id = ?", [ci])
    summary = validate_tables(task_con, ["task_pi", "task_ci"])
    failing = {(f.table, f.column): f.failing_keys for f in summary.failures}
    assert failing[("task_pi", "__label_within_option_ids")] == [{"instance_id": pi}]
    assert failing[("task_ci", "__label_points_to_community_id")] == [{"instance_id": ci}]
    with pytest.raises(ValidationFailed, match=pi):
        raise ValidationFailed(summary)


def test_k_out_of_bounds_and_length_mismatch(task_con):
    dp = fx.iid("dp", 1)
    task_con.execute("update task_dp set k = 4 where instance_id = ?", [dp])
    summary = validate_tables(task_con, ["task_dp"])
    failing = {f.column: f.failing_keys for f in summary.failures}
    assert failing == {
        "__len_option_ids_is_k": [{"instance_id": dp}],
        "__len_option_texts_is_k": [{"instance_id": dp}],
        "__len_distribution_is_k": [{"instance_id": dp}],
    }


def test_every_task_schema_declares_the_release_checks():
    for name in TASKS:
        checks = load_schema(name).checks
        assert checks.get("exported") is True, name
        assert checks["length_equals"]["option_ids"] == "k", name


def test_relative_docs_dir_works(task_con, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    summary = validate_tables(task_con, ["task_pi"], docs_dir=Path("rel") / "docs")
    assert summary.success and (tmp_path / "rel" / "docs" / "index.html").exists()
