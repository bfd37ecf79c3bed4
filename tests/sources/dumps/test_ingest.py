"""Dump ingestion: real Pushshift head counts, quarantine reasons, idempotence, resume, filters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from communitybench.sources.dumps import ingest as dumps
from communitybench.sources.dumps.ingest import ingest_paths
from tests.fixtures.data import shared_path
from tests.fixtures.dumps import JAN_1_2026, comment, count, line, write_dump


def test_real_pushshift_head_counts(con):
    path = shared_path("reddit", "pushshift-rc-2015-01-head5k", "public", "reddit.comments.5k.json")
    records = json.loads(path.read_text())  # the file is a JSON array, one record per line
    expected_deleted = sum(r["body"] == "[deleted]" for r in records)
    expected_removed = sum(r["body"] == "[removed]" for r in records)
    expected_subs = len({r["subreddit"] for r in records})
    first = min(int(r["created_utc"]) for r in records)

    [report] = ingest_paths(con, [path], progress=False)

    assert report.lines_read == len(records) == 5000
    assert report.comments == len(records) and not report.quarantined
    [got] = con.execute(
        "select count(*), count(distinct id), count(distinct subreddit), "
        "count(*) filter (where status = 'deleted'), count(*) filter (where status = 'removed'), "
        "min(created_utc) from raw_comments"
    ).fetchall()
    assert got[:5] == (
        5000,
        len({r["id"] for r in records}),
        expected_subs,
        expected_deleted,
        expected_removed,
    )
    assert got[5] == datetime.fromtimestamp(first, UTC).replace(tzinfo=None)
    sample = records[123]
    rows = con.execute(
        "select body, score, link_id, parent_id from raw_comments where id = ?", [sample["id"]]
    ).fetchall()
    assert rows == [(sample["body"], sample["score"], sample["link_id"][3:], sample["parent_id"])]


@pytest.mark.parametrize("suffix", [".ndjson", ".gz", ".zst"])
def test_bad_lines_quarantined_with_distinct_reasons(con, tmp_path, suffix):
    good = [line(comment(i)) for i in range(6)]
    bad = {
        "invalid_json": line(comment(90))[:-15],  # truncated
        "bad_type:score": line(comment(91, score="lots")),
        "missing_id": line({k: v for k, v in comment(92).items() if k != "id"}),
        "null_byte": line(comment(93, body="nul\x00")).replace(b"\\u0000", b"\x00"),
        "invalid_utf8": line(comment(94)).replace(b"perfectly", b"perf\xff\xfectly"),
        "line_too_long": line(comment(95, body="x" * 10_000_000)),
        "not_an_object": b"[1, 2, 3]",
        "missing_created_utc": line({k: v for k, v in comment(96).items() if k != "created_utc"}),
        "bad_type:created_utc": line(comment(97, created_utc="yesterday")),
        "empty_line": b"",
    }
    lines = []
    for i, raw in enumerate(bad.values()):
        lines += [good[i % len(good)] if i < len(good) else line(comment(100 + i)), raw]
    path = write_dump(tmp_path / f"RC_test{suffix}", lines)

    [report] = ingest_paths(con, [path], max_line_bytes=1_000_000, progress=False)

    assert report.quarantined == {reason: 1 for reason in bad}
    assert report.comments == len(bad)  # every good line around the bad ones loaded
    assert report.lines_read == 2 * len(bad) and report.filtered == 0
    rows = con.execute("select reason, source_line from quarantine order by source_line").fetchall()
    assert [r for r, _ in rows] == list(bad)
    assert [n for _, n in rows] == [2 * i + 2 for i in range(len(bad))]
    [long_row] = con.execute(
        "select line_bytes, length(raw_text) from quarantine where reason = 'line_too_long'"
    ).fetchall()
    assert long_row[0] > 10_000_000 and long_row[1] <= dumps.QUARANTINE_TEXT_CHARS


def test_reingest_is_idempotent(con, tmp_path):
    path = write_dump(tmp_path / "RC_x.zst", [line(comment(i)) for i in range(50)])
    ingest_paths(con, [path], progress=False)
    [again] = ingest_paths(con, [path], progress=False)
    assert again.skipped
    assert count(con, "select count(*) from raw_comments") == 50
    assert count(con, "select count(*) from ingest_runs") == 2


def test_interrupted_ingest_resumes_without_duplicates(con, tmp_path, monkeypatch):
    path = write_dump(tmp_path / "RC_big.ndjson", [line(comment(i)) for i in range(5_000)])
    real = dumps._load_batch
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(dumps, "_load_batch", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(con, [path], batch_lines=1_000, progress=False)
    assert count(con, "select count(*) from raw_comments") == 2_000
    monkeypatch.setattr(dumps, "_load_batch", real)
    [report] = ingest_paths(con, [path], batch_lines=1_000, progress=False)
    assert report.resumed_from == 2_000 and report.comments == 3_000
    got = con.execute("select count(*), count(distinct id) from raw_comments").fetchall()
    assert got == [(5_000, 5_000)]


def test_filters_and_field_variants(con, tmp_path):
    rows = [
        comment(1),
        comment(2, subreddit="other"),
        comment(3, created_utc=str(1767225600 - 86400)),  # string epoch, day before the window
        # Arctic Shift style: no id, only the fullname; retrieved_utc instead of retrieved_on
        {
            **{k: v for k, v in comment(4).items() if k not in ("id", "retrieved_on")},
            "name": "t1_c4",
            "retrieved_utc": 1767400000,
        },
        {
            "id": "s9",
            "title": "A thread",
            "selftext": "[removed]",
            "subreddit": "cooking",
            "author": "op",
            "score": 3,
            "created_utc": 1767225700,
            "num_comments": 2,
        },
    ]
    path = write_dump(tmp_path / "mixed.ndjson", [line(r) for r in rows])
    [report] = ingest_paths(
        con, [path], subreddits=["COOKING"], date_from=date(2026, 1, 1), progress=False
    )
    assert (report.comments, report.submissions, report.filtered) == (2, 1, 2)
    got = con.execute("select id, retrieved_at from raw_comments order by id").fetchall()
    assert got == [
        ("c1", datetime(2026, 1, 2)),
        ("c4", datetime.fromtimestamp(1767400000, UTC).replace(tzinfo=None)),
    ]
    assert con.execute("select id, status from raw_submissions").fetchall() == [("s9", "removed")]


def test_missing_file_is_a_clear_error(con, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        ingest_paths(con, [tmp_path / "nope.zst"], progress=False)
    assert count(con, "select count(*) from ingest_runs") == 0


def test_values_parsed_by_json_type(con, tmp_path):
    """One json_transform per line: numbers, booleans and strings of each field read as the
    contract's types; a body holding an object is quarantined; a resumed file adds nothing."""
    rows = [
        comment(1, score="7", ups=3.0, stickied=True, body='caf\u00e9 "quoted"'),
        comment(2, created_utc=JAN_1_2026 + 0.5, stickied="false", distinguished="moderator"),
        {  # only the fullname; retrieved in _meta (Arctic Shift)
            **{k: v for k, v in comment(3).items() if k not in ("id", "retrieved_on")},
            "name": "t1_c3",
            "_meta": {"retrieved_2nd_on": JAN_1_2026 + 3600},
        },
        comment(4, body={"nested": "object"}),
        comment(5, link_id="s2"),  # link_id without its t3_ prefix is kept as is
    ]
    path = write_dump(tmp_path / "RC_types.zst", [line(r) for r in rows])
    [report] = ingest_paths(con, [path], progress=False)
    assert (report.lines_read, report.comments, dict(report.quarantined)) == (
        5,
        4,
        {"bad_type:body": 1},
    )
    got = con.execute(
        "select id, link_id, body, score, ups, stickied, distinguished, created_utc, "
        "retrieved_at, source_line from raw_comments order by id"
    ).fetchall()
    day = datetime(2026, 1, 1)
    assert got == [
        ("c1", "s1", 'café "quoted"', 7, 3, True, None, datetime(2026, 1, 1, 0, 0, 1),
         datetime(2026, 1, 2), 1),
        ("c2", "s1", "a perfectly normal comment number 2", 2, 2, False, "moderator",
         datetime(2026, 1, 1, 0, 0, 0, 500000), datetime(2026, 1, 2), 2),
        ("c3", "s1", "a perfectly normal comment number 3", 3, 3, False, None,
         datetime(2026, 1, 1, 0, 0, 3), day.replace(hour=1), 3),
        ("c5", "s2", "a perfectly normal comment number 5", 5, 5, False, None,
         datetime(2026, 1, 1, 0, 0, 5), datetime(2026, 1, 2), 5),
    ]  # fmt: skip
    assert con.execute("select source_line, reason from quarantine").fetchall() == [
        (4, "bad_type:body")
    ]
    [again] = ingest_paths(con, [path], progress=False)
    assert again.skipped and count(con, "select count(*) from raw_comments") == 4
