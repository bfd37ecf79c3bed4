"""The gates in DuckDB SQL (``release/checks.py`` via ``validate_tables``) on a hand-built
table: each broken row is counted and named by its key, raw tables are not sampled for GX."""

from __future__ import annotations

from datetime import datetime

import pytest

import schemas
import warehouse
from communitybench.release import checks
from communitybench.release.validation import ValidationFailed, validate_tables

T = datetime(2026, 1, 1)


def comment_row(obs_id: str, **over) -> dict:
    row = {
        "obs_id": obs_id,
        "id": obs_id,
        "link_id": "s1",
        "parent_id": "t3_s1",
        "subreddit": "Cooking",
        "author": "alice",
        "body": "text",
        "score": 1,
        "ups": 1,
        "downs": 0,
        "created_utc": T,
        "distinguished": None,
        "stickied": False,
        "status": "ok",
        "retrieved_at": T,
        "source": "dump",
        "source_file": "RC_x",
        "source_line": 1,
        "ingest_run_id": "run",
    }
    return {**row, **over}


@pytest.fixture
def raw(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    warehouse.ensure_tables(con, layer="raw")
    con.execute("alter table raw_comments alter column id drop not null")  # let a NULL in
    rows = [
        comment_row("a"),
        comment_row("b", status="gone"),  # not in the contract's set
        comment_row("c", parent_id="x_1"),  # parent_id must match ^t[13]_
        comment_row("d", id=None),  # id is not nullable
        comment_row("e", status="gone", parent_id=None),  # a NULL parent passes its regex
        comment_row("f"),
        comment_row("f", body="again"),  # duplicate key
        comment_row("g", parent_id="t1_x"),
    ]
    columns = schemas.load_schema("raw_comments").column_names
    values = ", ".join("?" for _ in columns)
    con.executemany(
        f"insert into raw_comments values ({values})", [[r[c] for c in columns] for r in rows]
    )
    yield con
    con.close()


def test_each_broken_row_is_counted_and_named(raw):
    summary = validate_tables(raw, ["raw_comments"])
    found = {
        (f.expectation, f.column): (f.unexpected_count, f.failing_keys) for f in summary.failures
    }
    assert found == {
        ("expect_column_values_to_be_in_set", "status"): (2, [{"obs_id": "b"}, {"obs_id": "e"}]),
        ("expect_column_values_to_match_regex", "parent_id"): (1, [{"obs_id": "c"}]),
        ("expect_column_values_to_not_be_null", "id"): (1, [{"obs_id": "d"}]),
        ("expect_column_values_to_be_unique", "obs_id"): (2, [{"obs_id": "f"}]),
    }
    table = summary.tables["raw_comments"]
    assert table["rows"] == 8 and table["failed"] == 4 and table["gx_sample_rows"] == 0
    with pytest.raises(
        ValidationFailed, match=r"raw_comments.status: .* 2 row\(s\): \(obs_id='b'\)"
    ):
        raise ValidationFailed(summary)


def test_failing_rows_are_limited_but_all_counted(raw, monkeypatch):
    raw.execute("update raw_comments set source = 'elsewhere'")
    monkeypatch.setattr("communitybench.release.validation.MAX_KEYS_REPORTED", 3)
    summary = validate_tables(raw, ["raw_comments"])
    [source] = [f for f in summary.failures if f.column == "source"]
    assert source.unexpected_count == 8
    assert source.failing_keys == [{"obs_id": "a"}, {"obs_id": "b"}, {"obs_id": "c"}]


def test_missing_column_fails_the_column_set(raw):
    raw.execute("alter table raw_comments drop column stickied")
    summary = validate_tables(raw, ["raw_comments"])
    [failure] = summary.failures
    assert failure.expectation == "expect_table_columns_to_match_set"
    assert failure.failing_keys == [{"missing_column": "stickied"}]


def test_row_checks_cover_the_contract():
    schema = schemas.load_schema("raw_comments")
    got = {(c.expectation, c.column) for c in checks.row_checks(schema)}
    not_null = {c.name for c in schema.columns if not c.nullable}
    assert {col for kind, col in got if kind.endswith("not_be_null")} == not_null
    assert ("expect_column_values_to_match_regex", "parent_id") in got
    assert checks.literal("it's") == "'it''s'" and checks.literal(True) == "true"
