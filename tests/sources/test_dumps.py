"""Dump ingestion: real Pushshift head counts, quarantine reasons, idempotence, resume, filters."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime

import pytest
import zstandard

from communitybench.sources.dumps import ingest as dumps
from communitybench.sources.dumps.ingest import ingest_paths
from tests.conftest import shared_path


def _comment(i: int, **over) -> dict:
    row = {
        "id": f"c{i}",
        "link_id": "t3_s1",
        "parent_id": "t3_s1",
        "subreddit": "Cooking",
        "author": f"user{i}",
        "body": f"a perfectly normal comment number {i}",
        "score": i,
        "ups": i,
        "downs": 0,
        "created_utc": 1767225600 + i,
        "retrieved_on": 1767312000,
        "distinguished": None,
        "stickied": False,
    }
    row.update(over)
    return row


def _line(row) -> bytes:
    return json.dumps(row).encode()


def _write(path, lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    if path.suffix == ".zst":
        params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)
        data = zstandard.ZstdCompressor(compression_params=params).compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


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
    got = con.execute(
        "select count(*), count(distinct id), count(distinct subreddit), "
        "count(*) filter (where status = 'deleted'), count(*) filter (where status = 'removed'), "
        "min(created_utc) from raw_comments"
    ).fetchone()
    assert got[:5] == (
        5000,
        len({r["id"] for r in records}),
        expected_subs,
        expected_deleted,
        expected_removed,
    )
    assert got[5] == datetime.fromtimestamp(first, UTC).replace(tzinfo=None)
    sample = records[123]
    row = con.execute(
        "select body, score, link_id, parent_id from raw_comments where id = ?", [sample["id"]]
    ).fetchone()
    assert row == (sample["body"], sample["score"], sample["link_id"][3:], sample["parent_id"])


@pytest.mark.parametrize("suffix", [".ndjson", ".gz", ".zst"])
def test_bad_lines_quarantined_with_distinct_reasons(con, tmp_path, suffix):
    good = [_line(_comment(i)) for i in range(6)]
    bad = {
        "invalid_json": _line(_comment(90))[:-15],  # truncated
        "bad_type:score": _line(_comment(91, score="lots")),
        "missing_id": _line({k: v for k, v in _comment(92).items() if k != "id"}),
        "null_byte": _line(_comment(93, body="nul\x00")).replace(b"\\u0000", b"\x00"),
        "invalid_utf8": _line(_comment(94)).replace(b"perfectly", b"perf\xff\xfectly"),
        "line_too_long": _line(_comment(95, body="x" * 10_000_000)),
        "not_an_object": b"[1, 2, 3]",
        "missing_created_utc": _line({k: v for k, v in _comment(96).items() if k != "created_utc"}),
        "bad_type:created_utc": _line(_comment(97, created_utc="yesterday")),
        "empty_line": b"",
    }
    lines = []
    for i, raw in enumerate(bad.values()):
        lines += [good[i % len(good)] if i < len(good) else _line(_comment(100 + i)), raw]
    path = tmp_path / f"RC_test{suffix}"
    _write(path, lines)

    [report] = ingest_paths(con, [path], max_line_bytes=1_000_000, progress=False)

    assert report.quarantined == {reason: 1 for reason in bad}
    assert report.comments == len(bad)  # every good line around the bad ones loaded
    rows = con.execute("select reason, source_line from quarantine order by source_line").fetchall()
    assert [r for r, _ in rows] == list(bad)
    assert [n for _, n in rows] == [2 * i + 2 for i in range(len(bad))]
    long_row = con.execute(
        "select line_bytes, length(raw_text) from quarantine where reason = 'line_too_long'"
    ).fetchone()
    assert long_row[0] > 10_000_000 and long_row[1] <= dumps.QUARANTINE_TEXT_CHARS


def test_reingest_is_idempotent(con, tmp_path):
    path = tmp_path / "RC_x.zst"
    _write(path, [_line(_comment(i)) for i in range(50)])
    ingest_paths(con, [path], progress=False)
    [again] = ingest_paths(con, [path], progress=False)
    assert again.skipped
    assert con.execute("select count(*) from raw_comments").fetchone()[0] == 50
    assert con.execute("select count(*) from ingest_runs").fetchone()[0] == 2


def test_interrupted_ingest_resumes_without_duplicates(con, tmp_path, monkeypatch):
    path = tmp_path / "RC_big.ndjson"
    _write(path, [_line(_comment(i)) for i in range(5_000)])
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
    assert con.execute("select count(*) from raw_comments").fetchone()[0] == 2_000
    monkeypatch.setattr(dumps, "_load_batch", real)
    [report] = ingest_paths(con, [path], batch_lines=1_000, progress=False)
    assert report.resumed_from == 2_000 and report.comments == 3_000
    got = con.execute("select count(*), count(distinct id) from raw_comments").fetchone()
    assert got == (5_000, 5_000)


def test_filters_and_field_variants(con, tmp_path):
    rows = [
        _comment(1),
        _comment(2, subreddit="other"),
        _comment(3, created_utc=str(1767225600 - 86400)),  # string epoch, day before the window
        # Arctic Shift style: no id, only the fullname; retrieved_utc instead of retrieved_on
        {
            **{k: v for k, v in _comment(4).items() if k not in ("id", "retrieved_on")},
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
    path = tmp_path / "mixed.ndjson"
    _write(path, [_line(r) for r in rows])
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
    assert con.execute("select count(*) from ingest_runs").fetchone()[0] == 0
