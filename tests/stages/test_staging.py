"""Stage ``staging``: latest observation wins, deletions mark (never erase), drop reasons by rule.

Rule tests write raw observations by hand (raw is the input boundary) and run the stage as a
flow's task does (``tests.fixtures.demo.run``); the recovery test runs the demo forum of an
unseen seed through the real ``demo_forum`` → ``ingest`` → ``staging`` stages and checks the
planted noise against truth.json.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from communitybench.config import BuildConfig, CleanConfig
from communitybench.stages.staging import STAGING_VERSION
from tests.fixtures import demo
from tests.fixtures.dumps import count

T0 = datetime(2026, 1, 1)
TEXT = "a long enough comment about knife skills"
DEFAULTS = {
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
}


def _insert(con, table, rows):
    for i, row in enumerate(rows):
        full = {**DEFAULTS[table], "obs_id": f"o{i}-{row['id']}", **row}
        cols = ", ".join(full)
        con.execute(
            f"insert into {table} ({cols}) values ({', '.join('?' * len(full))})",
            list(full.values()),
        )


def _stage(wh_path, *, kind="demo", **clean):
    """Run the staging stage with these [clean] settings; its result."""
    source = {"kind": kind} if kind == "demo" else {"kind": kind, "dumps": []}
    config = BuildConfig(source=source, clean=CleanConfig(**clean))
    return demo.run(wh_path, config, "staging")["staging"]


def _reasons(con):
    return dict(con.execute("select id, drop_reason from stg_comments order by id").fetchall())


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
    result = _stage(wh_path, max_chars=100, repeat_threads=3, bot_allow=["Talbot"])
    expected = {
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
    assert _reasons(con) == expected
    comments = result.details["tables"]["stg_comments"]
    assert comments["rows"] == 17 and comments["kept"] == 4
    assert comments["dropped"]["bot"] == 5
    drops = Counter(r for r in expected.values() if r is not None)
    assert result.dropped == drops and comments["dropped"] == drops
    assert list(result.dropped) == sorted(drops, key=lambda r: (-drops[r], r))  # most first
    assert result.rows == {"stg_submissions": 0, "stg_comments": 17}
    assert (result.name, result.version) == ("staging", STAGING_VERSION)
    assert result.counts("rows").computed == 17
    [table] = result.tables
    assert table.rows == (("stg_submissions", 0, 0, "-"), ("stg_comments", 17, 4, dict(drops)))


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
    result = _stage(wh_path)
    rows = con.execute(
        "select id, author, body, score, status, drop_reason, n_observations "
        "from stg_comments order by id"
    ).fetchall()
    assert rows == [
        ("c1", "alice", TEXT, 12, "deleted", "deleted", 2),
        ("c2", "bob", TEXT + " b", 7, "ok", None, 2),
    ]
    # raw history is untouched
    assert count(con, "select count(*) from raw_comments") == 4
    assert result.rows["stg_comments"] == 2 and result.dropped == {"deleted": 1}


def test_a_stale_ok_copy_does_not_undo_a_deletion(con, wh_path):
    """Deletions are irreversible: the last non-ok status stands; the history spans every
    observation and ties on retrieved_at go to the later line of the file."""
    _insert(
        con,
        "raw_comments",
        [
            {"id": "c1", "author": "alice", "body": TEXT, "retrieved_at": datetime(2026, 1, 2)},
            {
                "id": "c1",
                "author": "[deleted]",
                "body": "[removed]",
                "status": "removed",
                "retrieved_at": datetime(2026, 1, 5),
                "created_utc": datetime(2026, 1, 1, 1),
            },
            {
                "id": "c1",
                "author": "alice",
                "body": TEXT + " mirror",
                "score": 9,
                "retrieved_at": datetime(2026, 1, 9),
                "source_line": 1,
            },
            {
                "id": "c1",
                "author": "alice",
                "body": TEXT + " mirror",
                "score": 8,
                "retrieved_at": datetime(2026, 1, 9),
                "source_line": 2,
            },
        ],
    )
    _stage(wh_path)
    rows = con.execute(
        "select author, body, score, status, drop_reason, n_observations, created_utc, "
        "first_retrieved_at, last_retrieved_at from stg_comments"
    ).fetchall()
    assert rows == [
        (
            "alice",
            TEXT + " mirror",
            8,
            "removed",
            "removed",
            4,
            T0,
            datetime(2026, 1, 2),
            datetime(2026, 1, 9),
        )
    ]


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
    result = _stage(wh_path)
    got = dict(con.execute("select id, drop_reason from stg_submissions").fetchall())
    assert got == {"s1": None, "s2": "bot", "s3": "deleted", "s4": "stickied"}
    assert con.execute("select distinct subreddit from stg_submissions").fetchall() == [
        ("cooking",)
    ]
    assert result.rows == {"stg_submissions": 4, "stg_comments": 0}
    assert result.dropped == {"bot": 1, "deleted": 1, "stickied": 1}


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
    try:  # a real source: the key must be set (no development default)
        result = _stage(wh_path, kind="dumps", takedowns=listed)
    finally:
        get_settings.cache_clear()
    assert _reasons(con) == {"c1": "takedown", "c2": "takedown", "c3": "takedown", "c4": None}
    assert con.execute("select drop_reason from stg_submissions").fetchall() == [("takedown",)]
    assert result.details["takedowns"] == {"authors": 2, "items": 2}
    assert result.dropped == {"takedown": 4}


def test_a_missing_takedown_list_fails_before_staging(con, wh_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="takedowns.txt"):
        _stage(wh_path, takedowns=tmp_path / "takedowns.txt")
    assert (
        count(con, "select count(*) from information_schema.tables where table_name like 'stg_%'")
        == 0
    )


# -- the demo forum of an unseen seed through the real stages ---------------------------------

UNSEEN_SEED = 11  # the session's demo_build uses seed 7


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo11")
    config = demo.demo_config(out / "forum", seed=UNSEEN_SEED)
    results = demo.run(out / "wh.duckdb", config, "demo_forum", "ingest", "staging")
    return out / "wh.duckdb", demo.load_truth(out / "forum"), results


def _staged(wh):
    return demo.read(wh, "select id, author, drop_reason from stg_comments")


def _expected_reason(comment_id, author, truth) -> str | None:
    if comment_id in set(truth["removed"]):
        return "removed"
    if comment_id in set(truth["deleted"]):
        return "deleted"
    if author in set(truth["bots"]):
        return "bot"
    if comment_id in set(truth["duplicates"]):
        return "duplicate"
    return None


def test_planted_noise_is_flagged_with_the_right_reason(demo_wh):
    wh, truth, _ = demo_wh
    rows = _staged(wh)
    planted = {"removed": [0, 0], "deleted": [0, 0], "bot": [0, 0], "duplicate": [0, 0]}
    normal_total = normal_flagged = 0
    for comment_id, author, reason in rows:
        expected = _expected_reason(comment_id, author, truth)
        if expected is None:
            normal_total += 1
            normal_flagged += reason is not None
        else:
            planted[expected][0] += 1
            planted[expected][1] += reason == expected
    for kind, (total, right) in planted.items():
        assert total > 0, f"the demo plants no {kind} rows"
        assert right / total >= 0.95, f"{kind}: {right}/{total} flagged with the right reason"
    assert normal_total > 3000
    assert normal_flagged / normal_total < 0.01


def test_refetched_deletions_mark_the_item_deleted(demo_wh):
    wh, truth, _ = demo_wh
    by_id = {cid: reason for cid, _, reason in _staged(wh)}
    refetched = truth["refetched_deleted"]
    assert refetched and all(by_id[cid] == "deleted" for cid in refetched)


def test_malformed_lines_are_quarantined_at_their_line_numbers(demo_wh):
    wh, truth, results = demo_wh
    got = demo.read(wh, "select source_file, source_line from quarantine order by 1, 2")
    expected = sorted(
        (name, line) for name, lines in truth["malformed_lines"].items() for line in lines
    )
    assert [(f.rsplit("/", 1)[-1], n) for f, n in got] == expected
    planted = sum(len(v) for v in truth["malformed_lines"].values())
    ingested = results["ingest"].details["files"]
    assert sum(sum(f["quarantined"].values()) for f in ingested) == planted


def test_demo_result_counts_the_planted_rows(demo_wh):
    """Status reasons come first, so their counts are exactly what the forum planted; every
    bot row the forum wrote (AutoModerator, the spam bot) is flagged bot."""
    wh, truth, results = demo_wh
    result, forum = results["staging"], results["demo_forum"].details
    assert result.dropped["removed"] == len(truth["removed"])
    assert result.dropped["deleted"] == len(truth["deleted"]) - len(truth["removed"])
    assert result.dropped["bot"] == forum["bot_rows"]
    ingested = results["ingest"].rows
    assert result.rows == {
        "stg_submissions": forum["submissions"],
        "stg_comments": ingested["raw_comments"] - len(truth["refetched_deleted"]),
    }
    for table, rows in result.rows.items():
        detail = result.details["tables"][table]
        assert detail["rows"] == rows == count_rows(wh, table)
        assert detail["kept"] == rows - sum(detail["dropped"].values())
        assert detail["kept"] == count_rows(wh, table, "drop_reason is null")


def count_rows(wh, table: str, where: str = "true") -> int:
    return demo.read(wh, f"select count(*) from {table} where {where}")[0][0]
