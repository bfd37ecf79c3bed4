"""Stage ``texts``: the kept staging items, cleaned for embedding and hashed.

Its input is the session's demo build (``staging`` run on the demo forum) or, for the one case
the demo does not have (a text that cleans to nothing), dump lines written here and run through
the real ingest and staging stages.
"""

from __future__ import annotations

import hashlib

import pytest

import warehouse
from communitybench import pipeline
from communitybench.stages import texts
from tests.fixtures import demo
from tests.fixtures.communities import rows
from tests.fixtures.contracts import contract_violations
from tests.fixtures.dumps import comment, line, write_dump
from transforms.embed_text import EMBED_TEXT_VERSION, clean_for_embedding


def test_texts_are_the_kept_items_cleaned_and_hashed(demo_build):
    wh = demo_build.warehouse
    comments = demo.read(wh, "select id, link_id, body from stg_comments where drop_reason is null")
    submissions = demo.read(wh, "select id from stg_submissions where drop_reason is null")
    stored = demo.read(wh, "select item_id, kind, link_id, clean_text, text_hash from texts")
    by_item = {item: tuple(rest) for item, *rest in stored}
    assert len(stored) == len(by_item) == len(comments) + len(submissions)
    for id_, link_id, body in comments:
        assert by_item["t1_" + id_][:3] == ("comment", link_id, clean_for_embedding(body))
    for (id_,) in submissions:
        assert by_item["t3_" + id_][:2] == ("submission", id_)  # a thread is its own link
    assert all(h == hashlib.sha256(t.encode()).hexdigest() for *_, t, h in stored)
    assert demo.read(wh, "select distinct clean_version from texts") == [(EMBED_TEXT_VERSION,)]
    with warehouse.connect(wh, read_only=True) as con:
        assert contract_violations(con, "texts") == []


def test_result_counts_texts_by_kind(demo_build):
    wh = demo_build.warehouse
    kept = dict(
        demo.read(
            wh,
            "select 'comment', count(*) from stg_comments where drop_reason is null union all "
            "select 'submission', count(*) from stg_submissions where drop_reason is null",
        )
    )
    [(distinct, empty)] = demo.read(
        wh,
        "select count(distinct text_hash) filter (where clean_text <> ''), "
        "count(*) filter (where clean_text = '') from texts",
    )
    total = sum(kept.values())
    result = demo_build.results["texts"]
    assert (result.name, result.version) == ("texts", EMBED_TEXT_VERSION)
    [work] = result.work
    assert (work.unit, work.computed, work.reused) == ("texts", total, 0)
    assert work.note == f"{distinct:,} distinct non-empty"
    assert dict(result.rows) == {"texts": total}
    assert dict(result.dropped) == ({"empty_after_cleaning": empty} if empty else {})
    assert result.details["by_kind"] == kept
    assert (result.details["distinct"], result.details["empty"]) == (distinct, empty)


def test_rebuild_gives_the_same_rows_and_a_skipped_stage_carries_them(demo_build, demo_copy):
    again = demo.run(demo_copy, demo_build.config, "texts")["texts"]
    assert again.work == demo_build.results["texts"].work
    assert rows(demo_copy, "texts") == rows(demo_build.warehouse, "texts")
    carried = pipeline.carry(texts.STAGE, demo_build.config, demo_copy, previous="v0001")
    [work] = carried.work
    assert (work.unit, work.computed, work.reused) == ("texts", 0, again.work[0].computed)
    assert "v0001" in work.note


def test_batches_of_any_size_give_the_same_table(demo_build, demo_copy, monkeypatch):
    """A month streams through in batches: batch edges (here every 7 items, an uneven split of
    the demo's items) change nothing in the table or the counts."""
    monkeypatch.setattr(texts, "BATCH_ROWS", 7)
    again = demo.run(demo_copy, demo_build.config, "texts")["texts"]
    assert demo.read(demo_copy, "select count(*) % 7 from texts") != [(0,)]
    assert rows(demo_copy, "texts") == rows(demo_build.warehouse, "texts")
    assert again.details == demo_build.results["texts"].details
    assert again.dropped == demo_build.results["texts"].dropped


def test_worker_processes_give_the_same_table(demo_build, demo_copy, monkeypatch):
    """A large table is cleaned in worker processes (forced here on the demo's items, in
    batches of 500 with two workers): the rows and their order are the single-process ones."""
    monkeypatch.setattr(texts, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(texts, "BATCH_ROWS", 500)
    monkeypatch.setattr(texts.os, "cpu_count", lambda: 2)
    again = demo.run(demo_copy, demo_build.config, "texts")["texts"]
    assert again.details["texts"] > 3 * 500  # more batches than workers: a window in flight
    assert rows(demo_copy, "texts") == rows(demo_build.warehouse, "texts")
    assert again.details == demo_build.results["texts"].details


def test_a_failed_rebuild_leaves_the_live_table_and_no_partial_one(
    demo_build, demo_copy, monkeypatch
):
    monkeypatch.setattr(texts, "BATCH_ROWS", 7)
    real, calls = texts.build_texts, []

    def fail_on_third_batch(items, cleaned=None):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated failure mid-build")
        return real(items, cleaned)

    monkeypatch.setattr(texts, "build_texts", fail_on_third_batch)
    with pytest.raises(RuntimeError, match="mid-build"):
        demo.run(demo_copy, demo_build.config, "texts")
    assert rows(demo_copy, "texts") == rows(demo_build.warehouse, "texts")
    with warehouse.connect(demo_copy, read_only=True) as con:
        assert not warehouse.table_exists(con, texts.BUILDING)


def test_text_that_cleans_to_nothing_is_counted_as_dropped(tmp_path, wh_path):
    dump = write_dump(
        tmp_path / "RC_2026-01.ndjson",
        [
            line(comment(1, body="https://example.com/only-a-link")),
            line(comment(2, body="see [the wiki](https://example.com/wiki)")),
            line(comment(3)),
        ],
    )
    results = demo.run(wh_path, demo.config_for([dump]), "ingest", "staging", "texts")
    result = results["texts"]
    assert dict(result.dropped) == {"empty_after_cleaning": 1}
    assert result.work[0].computed == 3 and result.details["distinct"] == 2
    stored = demo.read(wh_path, "select item_id, clean_text from texts order by item_id")
    assert stored == [("t1_c1", ""), ("t1_c2", "see the wiki"), ("t1_c3", comment(3)["body"])]
