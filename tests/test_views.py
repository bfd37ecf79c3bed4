"""warehouse/views: the analyst views on small inline tables, and ``communitybench sql``."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

import schemas
import warehouse
from communitybench.commands.sql import sql
from warehouse import views

DEFAULTS = {
    "VARCHAR": "x",
    "BIGINT": 0,
    "INTEGER": 0,
    "DOUBLE": 0.0,
    "BOOLEAN": False,
    "TIMESTAMP": datetime(2026, 1, 1),
    "JSON": "{}",
}


def insert(con, table: str, rows: list[dict]) -> None:
    """Insert literal rows; not-null columns a row leaves out get a neutral value."""
    schema = schemas.load_schema(table)
    for row in rows:
        full = {
            c.name: row.get(c.name, None if c.nullable else _default(c.type))
            for c in schema.columns
        }
        marks = ", ".join("?" for _ in full)
        con.execute(
            f"insert into {table} ({', '.join(full)}) values ({marks})", list(full.values())
        )


def _default(duckdb_type: str):
    return [] if duckdb_type.endswith("[]") else DEFAULTS[duckdb_type]


@pytest.fixture
def wh(tmp_path):
    con = warehouse.connect(tmp_path / "wh.duckdb")
    for layer in ("raw", "staging", "intermediate", "marts"):
        warehouse.ensure_tables(con, layer=layer)
    yield con
    con.close()


def rows(con, view: str) -> list[dict]:
    cursor = con.execute(f"select * from {view}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_drop_reasons_count_every_row_with_its_share(wh):
    insert(wh, "stg_submissions", [{"id": "s1"}, {"id": "s2", "drop_reason": "stickied"}])
    insert(
        wh,
        "stg_comments",
        [
            {"id": "c1"},
            {"id": "c2"},
            {"id": "c3", "drop_reason": "bot"},
            {"id": "c4", "drop_reason": "deleted"},
        ],
    )
    views.create_views(wh)
    assert rows(wh, "v_drop_reasons") == [
        {"table_name": "stg_comments", "drop_reason": None, "rows": 2, "share": 0.5},
        {"table_name": "stg_comments", "drop_reason": "bot", "rows": 1, "share": 0.25},
        {"table_name": "stg_comments", "drop_reason": "deleted", "rows": 1, "share": 0.25},
        {"table_name": "stg_submissions", "drop_reason": None, "rows": 1, "share": 0.5},
        {"table_name": "stg_submissions", "drop_reason": "stickied", "rows": 1, "share": 0.5},
    ]


def test_ingest_summary_accounts_for_every_line_of_each_file(wh):
    a, b = "a" * 64, "b" * 64
    insert(
        wh,
        "ingest_files",
        [
            {"file_key": a, "source_file": "RC_a.zst", "lines_done": 6, "completed": True},
            {"file_key": b, "source_file": "RC_b.zst", "lines_done": 2, "completed": False},
        ],
    )
    insert(wh, "raw_submissions", [{"obs_id": f"{a[:16]}:1", "source": "dump"}])
    insert(
        wh,
        "raw_comments",
        [
            {"obs_id": f"{a[:16]}:2", "source": "dump"},
            {"obs_id": f"{a[:16]}:3", "source": "dump"},
            {"obs_id": "crawl-1:c9", "source": "reddit"},  # crawled: belongs to no file
        ],
    )
    insert(
        wh,
        "quarantine",
        [
            {"source_file_key": a, "source_line": 4, "reason": "invalid_json"},
            {"source_file_key": a, "source_line": 5, "reason": "invalid_json"},
            {"source_file_key": b, "source_line": 1, "reason": "empty_line"},
        ],
    )
    views.create_views(wh)
    got = [{k: v for k, v in r.items() if k != "updated_at"} for r in rows(wh, "v_ingest_summary")]
    assert got == [
        {
            "source_file": "RC_a.zst",
            "file_key": a,
            "completed": True,
            "lines": 6,
            "submissions_loaded": 1,
            "comments_loaded": 2,
            "filtered": 1,
            "quarantined": 2,
            "quarantine_reasons": {"invalid_json": 2},
        },
        {
            "source_file": "RC_b.zst",
            "file_key": b,
            "completed": False,
            "lines": 2,
            "submissions_loaded": 0,
            "comments_loaded": 0,
            "filtered": 1,
            "quarantined": 1,
            "quarantine_reasons": {"empty_line": 1},
        },
    ]


def test_instances_union_the_tasks_with_their_split(wh):
    keys = ("instance_id", "community_id", "thread_id", "k", "query_title")
    insert(wh, "task_pi", [dict(zip(keys, ("i1", "c_1", "t1", 4, "Q1"), strict=True))])
    insert(wh, "task_dp", [dict(zip(keys, ("i1", "c_1", "t1", 4, "Q1"), strict=True))])
    insert(wh, "task_ci", [dict(zip(keys, ("i9", "c_2", "t2", 3, "Q2"), strict=True))])
    insert(
        wh,
        "instance_splits",
        [
            {"task": "pi", "instance_id": "i1", "split": "train"},
            {"task": "ci", "instance_id": "i9", "split": "test"},
        ],
    )
    views.create_views(wh)
    got = wh.execute(
        "select task, instance_id, community_id, thread_id, split, k, query_title "
        "from v_instances order by task"
    ).fetchall()
    assert got == [
        ("ci", "i9", "c_2", "t2", "test", 3, "Q2"),
        ("dp", "i1", "c_1", "t1", None, 4, "Q1"),  # same id as pi's, but no dp split yet
        ("pi", "i1", "c_1", "t1", "train", 4, "Q1"),
    ]


def test_community_summary_joins_profiles_ownership_and_tasks(wh):
    insert(
        wh,
        "communities",
        [
            {"community_id": "c_1", "scope": "a", "size": 5, "persistence": 0.5},
            {"community_id": "c_2", "scope": "a", "size": 3, "persistence": 0.25},
        ],
    )
    insert(
        wh,
        "profiles",
        [
            {
                "community_id": "c_1",
                "subreddit": "a",
                "profile_method": "extractive",
                "summary": "S1",
            }
        ],
    )
    insert(
        wh,
        "thread_ownership",
        [
            {"thread_id": "t1", "community_id": "c_1", "is_owner": True},
            {"thread_id": "t2", "community_id": "c_1", "is_owner": True},
            {"thread_id": "t3", "community_id": "c_1", "is_owner": False},
            {"thread_id": "t3", "community_id": "c_2", "is_owner": True},
        ],
    )
    insert(
        wh,
        "task_pi",
        [
            {"instance_id": i, "community_id": c}
            for i, c in [("p1", "c_1"), ("p2", "c_1"), ("p3", "c_2")]
        ],
    )
    insert(wh, "task_dp", [{"instance_id": "d1", "community_id": "c_1"}])
    insert(wh, "task_ci", [{"instance_id": "x1", "community_id": "c_2"}])
    views.create_views(wh)
    assert rows(wh, "v_community_summary") == [
        {
            "community_id": "c_1", "scope": "a", "subreddit": "a", "size": 5, "persistence": 0.5,
            "profile_method": "extractive", "summary": "S1", "owned_threads": 2,
            "pi_instances": 2, "dp_instances": 1, "ccg_instances": 0, "ci_instances": 0,
            "instances": 3,
        },
        {
            "community_id": "c_2", "scope": "a", "subreddit": None, "size": 3,
            "persistence": 0.25, "profile_method": None, "summary": None, "owned_threads": 1,
            "pi_instances": 1, "dp_instances": 0, "ccg_instances": 0, "ci_instances": 1,
            "instances": 2,
        },
    ]  # fmt: skip


def test_views_whose_tables_are_missing_are_skipped_and_old_copies_dropped(tmp_path):
    with warehouse.connect(tmp_path / "wh.duckdb") as con:
        warehouse.ensure_tables(con, layer="raw")
        summary = views.create_views(con)
        assert summary["created"] == ["v_ingest_summary"]
        assert summary["skipped"]["v_drop_reasons"] == ["stg_comments", "stg_submissions"]
        for layer in ("staging", "intermediate", "marts"):
            warehouse.ensure_tables(con, layer=layer)
        assert len(views.create_views(con)["created"]) == 4
        con.execute("drop table task_ci")
        summary = views.create_views(con)
        assert summary["skipped"] == {
            "v_community_summary": ["task_ci"],
            "v_instances": ["task_ci"],
        }
        assert not warehouse.table_exists(con, "v_instances")


def test_every_view_documents_exactly_its_columns(wh):
    views.create_views(wh)
    for view in views.all_views():
        described = wh.execute(
            "select column_name, comment from duckdb_columns() where table_name = ? "
            "order by column_index",
            [view.name],
        ).fetchall()
        assert [name for name, _ in described] == list(view.columns), view.name
        assert all(comment for _, comment in described), view.name
        assert view.description and view.select.rstrip().endswith("select * from final")


def sql_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context, warehouse_path: str = typer.Option(..., "--warehouse")):
        ctx.obj = SimpleNamespace(warehouse_path=warehouse_path)

    app.command("sql")(sql)
    return app


def test_sql_command_runs_queries_read_only(tmp_path):
    path = tmp_path / "wh.duckdb"
    with warehouse.connect(path) as con:
        for layer in ("raw", "staging", "intermediate", "marts"):
            warehouse.ensure_tables(con, layer=layer)
        insert(con, "stg_comments", [{"id": "c1", "drop_reason": "too_short"}])
        views.create_views(con)
    runner = CliRunner(env={"COLUMNS": "200"})
    app = sql_app()

    ok = runner.invoke(
        app,
        [
            "--warehouse",
            str(path),
            "sql",
            "-c",
            "select 40 + 2 as answer; select * from v_drop_reasons",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "answer" in ok.output and "42" in ok.output and "too_short" in ok.output

    meta = runner.invoke(app, ["--warehouse", str(path), "sql", "-c", ".schema v_instances"])
    assert meta.exit_code == 0 and "train, dev or test" in meta.output

    write = runner.invoke(app, ["--warehouse", str(path), "sql", "-c", "delete from stg_comments"])
    assert write.exit_code == 1 and "read-only" in write.output

    missing = runner.invoke(
        app, ["--warehouse", str(tmp_path / "no.duckdb"), "sql", "-c", "select 1"]
    )
    assert missing.exit_code == 2 and "does not exist yet" in missing.output
