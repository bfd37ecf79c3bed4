"""Staging: latest observation wins, deletions mark (never erase), drop reasons by rule."""

from __future__ import annotations

from datetime import datetime

from communitybench import stages
from communitybench.config import CleanConfig

T0 = datetime(2026, 1, 1)


def _insert(con, table, rows):
    defaults = {
        "raw_comments": dict(
            link_id="s1",
            parent_id="t3_s1",
            subreddit="Cooking",
            score=1,
            ups=1,
            downs=0,
            created_utc=T0,
            distinguished=None,
            stickied=False,
            status="ok",
            retrieved_at=datetime(2026, 2, 1),
            source="dump",
            source_file="f",
            source_line=None,
            ingest_run_id="r",
        ),
        "raw_submissions": dict(
            subreddit="Cooking",
            score=1,
            ups=1,
            downs=0,
            num_comments=0,
            upvote_ratio=None,
            created_utc=T0,
            distinguished=None,
            stickied=False,
            url=None,
            status="ok",
            retrieved_at=datetime(2026, 2, 1),
            source="dump",
            source_file="f",
            source_line=None,
            ingest_run_id="r",
        ),
    }[table]
    for i, row in enumerate(rows):
        full = {**defaults, "obs_id": f"o{i}-{row['id']}", **row}
        cols = ", ".join(full)
        con.execute(
            f"insert into {table} ({cols}) values ({', '.join('?' * len(full))})",
            list(full.values()),
        )


def _stage(wh_path, **over):
    kwargs = stages.staging_kwargs(CleanConfig(**over))
    return stages.run_staging(wh_path, **kwargs)


def _reasons(con):
    return dict(con.execute("select id, drop_reason from stg_comments order by id").fetchall())


TEXT = "a long enough comment about knife skills"


def test_drop_reasons_follow_the_rules(con, wh_path):
    _insert(
        con,
        "raw_comments",
        [
            {"id": "ok1", "author": "alice", "body": TEXT},
            {"id": "del", "author": "[deleted]", "body": "[deleted]", "status": "deleted"},
            {"id": "rem", "author": "[deleted]", "body": "[removed]", "status": "removed"},
            {"id": "am", "author": "AutoModerator", "body": TEXT + " rules"},
            {"id": "pat", "author": "RemindMeBot", "body": TEXT + " remind"},
            {"id": "allow", "author": "Talbot", "body": TEXT + " allowed"},
            {"id": "mod", "author": "carol", "body": TEXT + " mod", "distinguished": "moderator"},
            {"id": "pin", "author": "dave", "body": TEXT + " pin", "stickied": True},
            {"id": "short", "author": "erin", "body": "lol"},
            {"id": "long", "author": "erin", "body": "x" * 200},
            {"id": "dup1", "author": "frank", "body": TEXT + " twice"},
            {
                "id": "dup2",
                "author": "frank",
                "body": TEXT + " twice",
                "created_utc": datetime(2026, 1, 2),
            },
            {
                "id": "near",
                "author": "frank",
                "body": (TEXT + " TWICE!!").upper(),
                "created_utc": datetime(2026, 1, 3),
            },
            {"id": "other_thread", "author": "frank", "body": TEXT + " twice", "link_id": "s2"},
        ],
    )
    # a spam account: the identical body in three different threads
    _insert(
        con,
        "raw_comments",
        [
            {
                "id": f"spam{i}",
                "author": "deals",
                "body": "great deals at example dot com",
                "link_id": f"t{i}",
            }
            for i in range(3)
        ],
    )
    summary = _stage(wh_path, max_chars=100, repeat_threads=3, bot_allow=["Talbot"])
    assert _reasons(con) == {
        "ok1": None,
        "del": "deleted",
        "rem": "removed",
        "am": "bot",
        "pat": "bot",
        "allow": None,
        "mod": "moderator",
        "pin": "stickied",
        "short": "too_short",
        "long": "too_long",
        "dup1": None,
        "dup2": "duplicate",
        "near": "near_duplicate",
        "other_thread": None,
        "spam0": "bot",
        "spam1": "bot",
        "spam2": "bot",
    }
    comments = summary["tables"]["stg_comments"]
    assert comments["rows"] == 17 and comments["kept"] == 4
    assert comments["dropped"]["bot"] == 5


def test_later_deleted_observation_marks_deleted_and_keeps_history(con, wh_path):
    _insert(
        con,
        "raw_comments",
        [
            {
                "id": "c1",
                "author": "alice",
                "body": TEXT,
                "score": 10,
                "retrieved_at": datetime(2026, 1, 5),
            },
            {
                "id": "c1",
                "author": "[deleted]",
                "body": "[deleted]",
                "status": "deleted",
                "score": 12,
                "retrieved_at": datetime(2026, 3, 1),
            },
            {
                "id": "c2",
                "author": "bob",
                "body": TEXT + " b",
                "score": 1,
                "retrieved_at": datetime(2026, 1, 5),
            },
            {
                "id": "c2",
                "author": "bob",
                "body": TEXT + " b",
                "score": 7,
                "retrieved_at": datetime(2026, 3, 1),
            },
        ],
    )
    _stage(wh_path)
    rows = con.execute(
        "select id, author, body, score, status, drop_reason, n_observations "
        "from stg_comments order by id"
    ).fetchall()
    assert rows == [
        ("c1", "alice", TEXT, 12, "deleted", "deleted", 2),
        ("c2", "bob", TEXT + " b", 7, "ok", None, 2),
    ]
    # raw history is untouched
    assert con.execute("select count(*) from raw_comments").fetchone()[0] == 4


def test_submissions_staging(con, wh_path):
    _insert(
        con,
        "raw_submissions",
        [
            {"id": "s1", "author": "op", "title": "Best knife?", "selftext": "asking"},
            {"id": "s2", "author": "AutoModerator", "title": "Weekly thread", "selftext": "rules"},
            {
                "id": "s3",
                "author": "[deleted]",
                "title": "gone",
                "selftext": "[deleted]",
                "status": "deleted",
            },
            {
                "id": "s4",
                "author": "mod",
                "title": "Announcement",
                "selftext": "x",
                "stickied": True,
            },
        ],
    )
    _stage(wh_path)
    got = dict(con.execute("select id, drop_reason from stg_submissions").fetchall())
    assert got == {"s1": None, "s2": "bot", "s3": "deleted", "s4": "stickied"}
    assert con.execute("select subreddit from stg_submissions limit 1").fetchone() == ("cooking",)


def test_takedowns_by_item_name_and_pseudonym(con, wh_path, tmp_path, monkeypatch):
    from communitybench.settings import get_settings
    from transforms.members import pseudonymize

    monkeypatch.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", "test-key")
    get_settings.cache_clear()
    _insert(
        con,
        "raw_comments",
        [
            {"id": "c1", "author": "alice", "body": TEXT + " 1"},
            {"id": "c2", "author": "bob", "body": TEXT + " 2"},
            {"id": "c3", "author": "carol", "body": TEXT + " 3"},
            {"id": "c4", "author": "dave", "body": TEXT + " 4"},
        ],
    )
    _insert(con, "raw_submissions", [{"id": "s1", "author": "erin", "title": "t", "selftext": "x"}])
    [bob] = pseudonymize(["bob"], key="test-key")
    listed = tmp_path / "takedowns.txt"
    listed.write_text(f"# requests\nt1_c1\nt3_s1\nmember:{bob}\nauthor:carol\n")
    kwargs = stages.staging_kwargs(CleanConfig())
    try:
        summary = stages.run_staging(wh_path, **kwargs, takedowns=listed)
    finally:
        get_settings.cache_clear()
    assert _reasons(con) == {"c1": "takedown", "c2": "takedown", "c3": "takedown", "c4": None}
    assert con.execute("select drop_reason from stg_submissions").fetchall() == [("takedown",)]
    assert summary["takedowns"] == {"authors": 2, "items": 2}
