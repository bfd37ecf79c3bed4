"""warehouse.create_views: the analyst views (warehouse/views/v_*.sql) described by their
contracts (schemas/views/v_*.toml), on dump lines written by hand and on the demo build's marts.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest

import schemas
import warehouse
from tests.fixtures.demo import config_for, run
from tests.fixtures.release import assign_splits

JAN_1_2026 = 1767225600
VIEWS = ["v_community_summary", "v_drop_reasons", "v_ingest_summary", "v_instances"]


def rows(con, view: str) -> list[dict]:
    cursor = con.execute(f"select * from {view}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def dump_line(kind: str, i: int, **over) -> str:
    row = {
        "id": f"{kind}{i}",
        "subreddit": "Cooking",
        "author": f"cook_{i}",
        "score": 1,
        "created_utc": JAN_1_2026 + i,
    }
    if kind == "s":
        row |= {"title": f"Which knife number {i} should I buy?", "selftext": "Budget is small."}
    else:
        row |= {"link_id": "t3_s1", "parent_id": "t3_s1", "body": f"a comment long enough {i}"}
    return json.dumps(row | over)


def test_drop_reasons_count_every_row_with_its_share(tmp_path):
    """Hand-written dump lines through the real ingest and staging stages."""
    (tmp_path / "RS_x.ndjson").write_text(
        "\n".join([dump_line("s", 1), dump_line("s", 2, stickied=True)]) + "\n"
    )
    comments = [
        dump_line("c", 1),
        dump_line("c", 2),
        dump_line("c", 3, author="AutoModerator"),  # bot
        dump_line("c", 4, body="[deleted]", author="[deleted]"),  # deleted
    ]
    (tmp_path / "RC_x.ndjson").write_text("\n".join(comments) + "\n")
    wh = tmp_path / "wh.duckdb"
    run(wh, config_for([tmp_path / "RS_x.ndjson", tmp_path / "RC_x.ndjson"]), "ingest", "staging")
    with warehouse.connect(wh) as con:
        warehouse.create_views(con)
        assert rows(con, "v_drop_reasons") == [
            {"table_name": "stg_comments", "drop_reason": None, "rows": 2, "share": 0.5},
            {"table_name": "stg_comments", "drop_reason": "bot", "rows": 1, "share": 0.25},
            {"table_name": "stg_comments", "drop_reason": "deleted", "rows": 1, "share": 0.25},
            {"table_name": "stg_submissions", "drop_reason": None, "rows": 1, "share": 0.5},
            {"table_name": "stg_submissions", "drop_reason": "stickied", "rows": 1, "share": 0.5},
        ]


DEFAULTS = {
    "VARCHAR": "x",
    "BIGINT": 0,
    "INTEGER": 0,
    "DOUBLE": 0.0,
    "BOOLEAN": False,
    "TIMESTAMP": datetime(2026, 1, 1),
    "JSON": "{}",
}


def insert_raw(con, table: str, records: list[dict]) -> None:
    """Raw rows written by hand (raw is the input boundary); unset not-null columns get a
    neutral value."""
    schema = schemas.load_schema(table)
    assert schema.layer == "raw", "only raw observations are written by hand"
    for record in records:
        full = {
            c.name: record.get(c.name, None if c.nullable else DEFAULTS[c.type])
            for c in schema.columns
        }
        marks = ", ".join("?" for _ in full)
        con.execute(
            f"insert into {table} ({', '.join(full)}) values ({marks})", list(full.values())
        )


def test_ingest_summary_accounts_for_every_line_of_each_file(con):
    a, b = "a" * 64, "b" * 64
    insert_raw(
        con,
        "ingest_files",
        [
            {"file_key": a, "source_file": "RC_a.zst", "lines_done": 6, "completed": True},
            {"file_key": b, "source_file": "RC_b.zst", "lines_done": 2, "completed": False},
        ],
    )
    insert_raw(con, "raw_submissions", [{"obs_id": f"{a[:16]}:1", "source": "dump"}])
    insert_raw(
        con,
        "raw_comments",
        [
            {"obs_id": f"{a[:16]}:2", "source": "dump"},
            {"obs_id": f"{a[:16]}:3", "source": "dump"},
            {"obs_id": "crawl-1:c9", "source": "reddit"},  # crawled: belongs to no file
        ],
    )
    insert_raw(
        con,
        "quarantine",
        [
            {"source_file_key": a, "source_line": 4, "reason": "invalid_json"},
            {"source_file_key": a, "source_line": 5, "reason": "invalid_json"},
            {"source_file_key": b, "source_line": 1, "reason": "empty_line"},
        ],
    )
    summary = warehouse.create_views(con)
    assert summary["created"] == ["v_ingest_summary"]
    got = [{k: v for k, v in r.items() if k != "updated_at"} for r in rows(con, "v_ingest_summary")]
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


@pytest.fixture
def marts(demo_copy, demo_build):
    """A private copy of the demo build with its instance splits, minus the dp split of one
    instance (an instance with no split yet); yields an open connection with the views."""
    assign_splits(demo_copy, demo_build.config)
    con = warehouse.connect(demo_copy)
    con.execute(
        "delete from instance_splits where task = 'dp' and instance_id = "
        "(select min(instance_id) from task_dp)"
    )
    assert warehouse.create_views(con)["created"] == VIEWS
    yield con
    con.close()


TASKS = ("pi", "dp", "ccg", "ci")


def test_instances_union_the_tasks_with_their_split(marts):
    split = {
        (t, i): s
        for t, i, s in marts.execute(
            "select task, instance_id, split from instance_splits"
        ).fetchall()
    }
    expected = sorted(
        (task, i, c, sub, t, split.get((task, i)), k, title)
        for task in TASKS
        for i, c, sub, t, k, title in marts.execute(
            f"select instance_id, community_id, subreddit, thread_id, k, query_title "
            f"from task_{task}"
        ).fetchall()
    )
    got = sorted(tuple(r.values()) for r in rows(marts, "v_instances"))
    assert got == expected
    [(no_split,)] = marts.execute("select min(instance_id) from task_dp").fetchall()
    assert [r for r in got if r[5] is None] == [r for r in expected if r[:2] == ("dp", no_split)]


def test_community_summary_joins_profiles_ownership_and_tasks(marts):
    owned = Counter(
        c
        for (c,) in marts.execute(
            "select community_id from thread_ownership where is_owner"
        ).fetchall()
    )
    per_task = {
        task: Counter(
            c for (c,) in marts.execute(f"select community_id from task_{task}").fetchall()
        )
        for task in TASKS
    }
    profiles = {
        c: (sub, method, summary)
        for c, sub, method, summary in marts.execute(
            "select community_id, subreddit, profile_method, summary from profiles"
        ).fetchall()
    }
    communities = marts.execute(
        "select community_id, scope, level, parent_id, stability, published, size, persistence "
        "from communities"
    ).fetchall()
    expected = [
        {
            "community_id": c,
            "scope": scope,
            "level": level,
            "parent_id": parent,
            "stability": stability,
            "published": published,
            "subreddit": profiles.get(c, (None,) * 3)[0],
            "size": size,
            "persistence": persistence,
            "profile_method": profiles.get(c, (None,) * 3)[1],
            "summary": profiles.get(c, (None,) * 3)[2],
            "owned_threads": owned[c],
            **{f"{task}_instances": per_task[task][c] for task in TASKS},
            "instances": sum(per_task[task][c] for task in TASKS),
        }
        for c, scope, level, parent, stability, published, size, persistence in sorted(
            communities, key=lambda r: (r[1], r[2], -r[6], r[0])
        )
    ]
    assert rows(marts, "v_community_summary") == expected
    assert sum(r["instances"] for r in expected) > 0 and len(expected) > 1


def test_views_whose_tables_are_missing_are_skipped_and_old_copies_dropped(tmp_path):
    with warehouse.connect(tmp_path / "wh.duckdb") as con:
        warehouse.ensure_tables(con, layer="raw")
        summary = warehouse.create_views(con)
        assert summary["created"] == ["v_ingest_summary"]
        assert summary["skipped"]["v_drop_reasons"] == ["stg_comments", "stg_submissions"]
        for layer in ("staging", "intermediate", "marts"):
            warehouse.ensure_tables(con, layer=layer)
        assert warehouse.create_views(con)["created"] == VIEWS
        con.execute("drop table task_ci")
        summary = warehouse.create_views(con)
        assert summary["skipped"] == {
            "v_community_summary": ["task_ci"],
            "v_instances": ["task_ci"],
        }
        assert not warehouse.table_exists(con, "v_instances")


def test_every_view_documents_exactly_its_contract(tmp_path):
    with warehouse.connect(tmp_path / "wh.duckdb") as con:
        for layer in ("raw", "staging", "intermediate", "marts"):
            warehouse.ensure_tables(con, layer=layer)
        warehouse.create_views(con)
        contracts = schemas.all_schemas("views", materialized="view")
        assert [c.name for c in contracts] == VIEWS
        for view in contracts:
            described = con.execute(
                "select column_name, comment from duckdb_columns() where table_name = ? "
                "order by column_index",
                [view.name],
            ).fetchall()
            assert described == [(c.name, c.description) for c in view.columns], view.name
            assert all(c.description for c in view.columns), view.name
            [(comment,)] = con.execute(
                "select comment from duckdb_views() where view_name = ?", [view.name]
            ).fetchall()
            assert comment == view.description != ""
            assert warehouse.model_sql(view.name).rstrip().endswith("select * from final")


def test_a_view_that_breaks_its_contract_is_an_error(tmp_path, monkeypatch):
    real = warehouse.model_sql

    def renamed(name: str) -> str:
        sql = real(name)
        return sql.replace("as share,", "as fraction,") if name == "v_drop_reasons" else sql

    monkeypatch.setattr(warehouse, "model_sql", renamed)
    with warehouse.connect(tmp_path / "wh.duckdb") as con:
        warehouse.ensure_tables(con, layer="staging")
        with pytest.raises(warehouse.ContractError, match="schemas/views/v_drop_reasons.toml"):
            warehouse.create_views(con)
