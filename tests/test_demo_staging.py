"""The demo forum through ingest + staging: planted noise is flagged, planted normal rows kept."""

from __future__ import annotations

import json

import pytest

from communitybench import stages
from communitybench.sources.demo.forum import write_demo_forum


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_forum(out, seed=11, scale=1.0)
    wh = out / "wh.duckdb"
    files = sorted(out.glob("RS_*.zst")) + sorted(out.glob("RC_*.zst"))
    ingested = stages.ingest_and_stage(wh, files)["ingest"]
    truth = json.loads((out / "truth.json").read_text())
    return wh, truth, ingested


def _staged(wh):
    import warehouse

    with warehouse.connect(wh, read_only=True) as con:
        return con.execute("select id, author, drop_reason from stg_comments").fetchall()


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
    wh, truth, ingested = demo_wh
    import warehouse

    with warehouse.connect(wh, read_only=True) as con:
        got = con.execute(
            "select source_file, source_line from quarantine order by 1, 2"
        ).fetchall()
    expected = sorted(
        (name, line) for name, lines in truth["malformed_lines"].items() for line in lines
    )
    assert [(f.rsplit("/", 1)[-1], n) for f, n in got] == expected
    planted = sum(len(v) for v in truth["malformed_lines"].values())
    assert sum(sum(f["quarantined"].values()) for f in ingested["files"]) == planted
