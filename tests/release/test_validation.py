"""GX gates generated from schemas: they pass on the real marts of the demo build, and each
broken row (a distribution summing to 0.9, a duplicated id, a username in an exported column, a
label out of range, a CI label that is not the true community, k not matching the options) fails
the gate that guards it, naming that row's key."""

from __future__ import annotations

from pathlib import Path

import pytest

import schemas
import warehouse
from communitybench.release.validation import ValidationFailed, expectations_for, validate_tables
from schemas import load_schema
from tests.fixtures.demo import read

TASKS = ["task_pi", "task_dp", "task_ccg", "task_ci"]


@pytest.fixture
def task_con(demo_copy):
    """A writable connection to a private copy of the demo build's marts."""
    con = warehouse.connect(demo_copy)
    yield con
    con.close()


def first_id(con, table: str, where: str = "true") -> str:
    query = f"select instance_id from {table} where {where} order by instance_id limit 1"
    return con.execute(query).fetchall()[0][0]


def failing(summary) -> dict:
    return {(f.table, f.column): f.failing_keys for f in summary.failures}


def test_every_table_schema_yields_a_suite():
    for schema in schemas.all_schemas():
        expectations = expectations_for(schema)
        assert len(expectations) >= 1 + sum(not c.nullable for c in schema.columns), schema.name


def test_real_task_tables_pass_and_docs_are_built(demo_build, tmp_path):
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        summary = validate_tables(con, TASKS + ["stg_comments"], docs_dir=tmp_path / "docs")
    assert summary.success, [f.line() for f in summary.failures]
    [(pi_rows,)] = read(demo_build.warehouse, "select count(*) from task_pi")
    assert summary.tables["task_pi"]["rows"] == pi_rows > 0
    assert all(summary.tables[t]["failed"] == 0 < summary.tables[t]["checks"] for t in TASKS)
    assert (tmp_path / "docs" / "index.html").exists()
    assert list((tmp_path / "docs" / "validations").rglob("*.html"))


def test_distribution_not_summing_to_one_names_the_row(task_con):
    bad = first_id(task_con, "task_dp")
    task_con.execute(
        "update task_dp set distribution = list_transform(distribution, lambda p: p * 0.9) "
        "where instance_id = ?",
        [bad],
    )
    summary = validate_tables(task_con, ["task_dp"])
    [failure] = summary.failures
    assert failure.column == "__sum_distribution" and failure.failing_keys == [{"instance_id": bad}]
    assert failure.unexpected_count == 1


def test_duplicated_instance_id_names_the_id(task_con):
    dup = first_id(task_con, "task_pi")
    task_con.execute("insert into task_pi select * from task_pi where instance_id = ?", [dup])
    summary = validate_tables(task_con, ["task_pi"])
    [failure] = [f for f in summary.failures if f.expectation.endswith("to_be_unique")]
    assert failure.failing_keys == [{"instance_id": dup}]


def test_username_in_an_exported_column_is_caught(task_con):
    # a real author of the forum, handle-like (digits), so it also counts inside JSON text
    [(author,)] = task_con.execute(
        "select author from stg_comments where drop_reason is null "
        "and regexp_matches(author, '[0-9]') order by author limit 1"
    ).fetchall()
    pi, ci = first_id(task_con, "task_pi"), first_id(task_con, "task_ci")
    task_con.execute(
        "update task_pi set option_ids = [option_ids[1], ?] || option_ids[3:] "
        "where instance_id = ?",
        [author, pi],
    )
    task_con.execute(
        "update task_ci set candidate_profiles = json_array(?, candidate_profiles[1]) "
        "where instance_id = ?",
        [f"written by {author} for the forum", ci],
    )
    summary = validate_tables(task_con, ["task_pi", "task_ci"])
    assert failing(summary) == {
        ("task_pi", "__username_hits"): [{"instance_id": pi}],
        ("task_ci", "__username_hits"): [{"instance_id": ci}],
    }


def test_label_out_of_range_and_ci_label_not_the_true_community(task_con):
    pi, ci = first_id(task_con, "task_pi"), first_id(task_con, "task_ci")
    task_con.execute("update task_pi set label = len(option_ids) where instance_id = ?", [pi])
    task_con.execute(
        "update task_ci set label = (label + 1) % len(candidate_ids) where instance_id = ?", [ci]
    )
    summary = validate_tables(task_con, ["task_pi", "task_ci"])
    found = failing(summary)
    assert found[("task_pi", "__label_within_option_ids")] == [{"instance_id": pi}]
    assert found[("task_ci", "__label_points_to_community_id")] == [{"instance_id": ci}]
    with pytest.raises(ValidationFailed, match=pi):
        raise ValidationFailed(summary)


def test_k_not_matching_the_options(task_con):
    dp = first_id(task_con, "task_dp", where="k < 5")  # k + 1 stays within k's own range
    task_con.execute("update task_dp set k = k + 1 where instance_id = ?", [dp])
    summary = validate_tables(task_con, ["task_dp"])
    assert failing(summary) == {
        ("task_dp", "__len_option_ids_is_k"): [{"instance_id": dp}],
        ("task_dp", "__len_option_texts_is_k"): [{"instance_id": dp}],
        ("task_dp", "__len_distribution_is_k"): [{"instance_id": dp}],
    }


def test_every_task_schema_declares_the_release_checks():
    for name in TASKS:
        checks = load_schema(name).checks
        assert checks.get("exported") is True, name
        assert checks["length_equals"]["option_ids"] == "k", name


def test_relative_docs_dir_works(demo_build, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        summary = validate_tables(con, ["task_pi"], docs_dir=Path("rel") / "docs")
    assert summary.success and (tmp_path / "rel" / "docs" / "index.html").exists()
