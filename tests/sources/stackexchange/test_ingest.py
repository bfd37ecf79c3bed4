"""Stack Exchange site dumps into the raw tables: votes, parent links, accepted answers as metadata,
quarantine reasons, idempotence, resume after a crash, the .7z archive, and the ingest stage."""

from __future__ import annotations

from pathlib import Path

import py7zr
import pytest
from typer.testing import CliRunner

import warehouse
from communitybench.config import BuildConfig
from communitybench.settings import get_settings
from communitybench.sources.stackexchange import batches
from communitybench.sources.stackexchange import ingest as se
from flows.cli import app
from tests.fixtures import demo

SITE = "qc.stackexchange.com"
POSTS = """\ufeff<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" AcceptedAnswerId="3" CreationDate="2018-03-12T17:00:45.567" Score="3" Title="Why &amp; how?" Body="&lt;p&gt;A &lt;b&gt;question&lt;/b&gt; for @Zelda&lt;/p&gt;" OwnerUserId="7" OwnerDisplayName="Zelda" AnswerCount="2" Tags="&lt;qubits&gt;" LastActivityDate="2018-03-14T09:30:00.000" />
  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T18:00:00.000" Score="1" Body="&lt;p&gt;Answer one&lt;/p&gt;" OwnerUserId="8" />
  <row Id="3" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T19:00:00.000" Score="-1" Body="&lt;p&gt;Answer two&lt;/p&gt;" />
  <row Id="4" PostTypeId="4" CreationDate="2018-03-12T19:00:00.000" Score="0" Body="tag wiki" />
  <row Id="5" PostTypeId="2" CreationDate="2018-03-12T19:00:00.000" Score="0" Body="orphan" />
  <row Id="6" PostTypeId="1" CreationDate="2018-03-12T19:00:00.000" Score="0" Body="broken
  <row Id="7" PostTypeId="1" CreationDate="2018-03-13T10:00:00.000" Score="0" Title="Second" Body="b" OwnerUserId="8" />
</posts>
"""  # noqa: E501  (XML rows are long by nature)
VOTES = """<?xml version="1.0" encoding="utf-8"?>
<votes>
  <row Id="1" PostId="2" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="2" PostId="2" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="3" PostId="2" VoteTypeId="3" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="4" PostId="3" VoteTypeId="3" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="5" PostId="3" VoteTypeId="1" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="6" PostId="x" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="7" PostId="1" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
</votes>
"""
COMMENTS = """<?xml version="1.0" encoding="utf-8"?>
<comments>
  <row Id="10" PostId="1" Score="2" Text="A comment on the question, @Zelda." CreationDate="2018-03-12T17:30:00.000" UserId="9" />
  <row Id="11" PostId="2" Score="0" Text="A comment on answer one, long enough." CreationDate="2018-03-12T18:30:00.000" UserDisplayName="Zelda" />
  <row Id="12" PostId="4" Score="0" Text="On the tag wiki" CreationDate="2018-03-12T19:30:00.000" UserId="9" />
  <row Id="13" Score="0" Text="no post" CreationDate="2018-03-12T19:30:00.000" UserId="9" />
</comments>
"""  # noqa: E501


def write_dump(folder: Path, *, votes: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Posts.xml").write_text(POSTS, encoding="utf-8")
    (folder / "Comments.xml").write_text(COMMENTS, encoding="utf-8")
    if votes:
        (folder / "Votes.xml").write_text(VOTES, encoding="utf-8")
    return folder


@pytest.fixture
def dump(tmp_path) -> Path:
    return write_dump(tmp_path / SITE)


def ingest(con, *paths, **kwargs):
    return se.ingest_sites(con, list(paths), progress=False, **kwargs)


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_posts_votes_and_comments_land_in_the_raw_tables(dump, con):
    reports = {Path(r.path).name: r for r in ingest(con, dump)}
    assert rows(con, "select id, author, title, selftext, ups, downs from raw_submissions") == [
        ("se-qc-1", "se:qc:7", "Why & how?", "A question for @user\n\nTags: qubits", 1, 0),
        ("se-qc-7", "se:qc:8", "Second", "b", 0, 0),
    ]
    answers = rows(
        con,
        "select id, link_id, parent_id, author, score, ups, downs, distinguished, source "
        "from raw_comments order by source, id",
    )
    assert answers == [
        ("se-qc-2", "se-qc-1", "t3_se-qc-1", "se:qc:8", 1, 2, 1, None, "stackexchange"),
        ("se-qc-3", "se-qc-1", "t3_se-qc-1", None, -1, 0, 1, "accepted", "stackexchange"),
        # comments: on the question (t3_) and on an answer (t1_); no down votes on comments
        ("se-qc-c10", "se-qc-1", "t3_se-qc-1", "se:qc:9", 2, 2, 0, None, "stackexchange_comment"),
        ("se-qc-c11", "se-qc-1", "t1_se-qc-2", None, 0, 0, 0, None, "stackexchange_comment"),
    ]
    assert {r[0] for r in rows(con, "select distinct subreddit from raw_comments")} == {SITE}
    # every row is observed at the dump's latest activity, not at ingest time
    assert rows(con, "select distinct retrieved_at::varchar from raw_comments") == [
        ("2018-03-14 09:30:00",)
    ]
    quarantined = "select parse_filename(source_file), source_line, reason from quarantine"
    assert rows(con, quarantined + " order by 1, 2") == [
        ("Comments.xml", 6, "missing_PostId"),
        ("Posts.xml", 7, "missing_ParentId"),
        ("Posts.xml", 8, "invalid_xml"),
        ("Votes.xml", 8, "bad_type:PostId"),
    ]
    assert (reports["Votes.xml"].filtered, reports["Posts.xml"].filtered) == (1, 1)
    assert reports["Comments.xml"].filtered == 1  # the comment on the tag wiki
    # display names (OwnerDisplayName, UserDisplayName, @mentions) never enter the warehouse
    for table in ("raw_submissions", "raw_comments"):
        assert "Zelda" not in repr(rows(con, f"select * from {table}"))


def test_reingesting_adds_nothing(dump, con):
    ingest(con, dump)
    before = [
        warehouse.row_count(con, t) for t in ("raw_submissions", "raw_comments", "quarantine")
    ]
    again = ingest(con, dump)
    assert [r.skipped for r in again] == [True, True, True]
    after = [warehouse.row_count(con, t) for t in ("raw_submissions", "raw_comments", "quarantine")]
    assert after == before == [2, 4, 4]
    assert rows(con, "select count(*), count(finished_at) from ingest_runs") == [(2, 2)]


def test_an_interrupted_ingest_resumes_without_duplicates(dump, con, monkeypatch):
    real, calls = batches._commit_batch, []

    def crash_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(batches, "_commit_batch", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        ingest(con, dump, batch_rows=3)  # Posts.xml: the first batch commits, the second fails
    assert rows(con, "select count(*) from raw_submissions") == [(1,)]
    [(done, completed)] = rows(
        con, "select lines_done, completed from ingest_files where source_file = 'Posts.xml'"
    )
    assert (done, completed) == (5, False)  # lines 1-5: the declaration, <posts>, rows 1-3
    monkeypatch.setattr(batches, "_commit_batch", real)
    reports = {Path(r.path).name: r for r in ingest(con, dump, batch_rows=3)}
    assert reports["Posts.xml"].resumed_from == 5
    assert rows(con, "select count(*), count(distinct id) from raw_comments") == [(4, 4)]
    assert rows(con, "select count(*), count(distinct id) from raw_submissions") == [(2, 2)]
    assert rows(con, "select count(*) from quarantine where source_file like '%Votes.xml'") == [
        (1,)
    ]
    assert rows(con, "select id, ups, downs from raw_comments where id = 'se-qc-3'") == [
        ("se-qc-3", 0, 1)  # votes recounted for the resumed rows
    ]


def test_without_votes_up_and_down_are_unknown(tmp_path, con):
    ingest(con, write_dump(tmp_path / SITE, votes=False))
    assert rows(con, "select count(*), count(ups), count(downs) from raw_submissions") == [
        (2, 0, 0)
    ]
    assert rows(
        con, "select id, score, ups, downs from raw_comments where source = 'stackexchange'"
    ) == [("se-qc-2", 1, None, None), ("se-qc-3", -1, None, None)]


def test_the_published_7z_archive_loads_like_the_folder(dump, tmp_path, con):
    archive = tmp_path / f"{SITE}.7z"
    with py7zr.SevenZipFile(archive, "w") as seven:
        for name in ("Posts.xml", "Votes.xml", "Comments.xml"):
            seven.write(dump / name, name)
    ingest(con, archive, work_dir=tmp_path / "work")
    assert sorted(p.name for p in (tmp_path / "work" / SITE).iterdir()) == [
        ".extracted",
        "Comments.xml",
        "Posts.xml",
        "Votes.xml",
    ]
    assert rows(con, "select count(*), sum(downs) from raw_comments") == [(4, 2)]
    assert [r.skipped for r in ingest(con, archive, work_dir=tmp_path / "work")] == [True] * 3


def test_the_ingest_stage_and_staging_on_a_site_dump(tmp_path):
    folder = write_dump(tmp_path / "data")  # not named after its site: the config names it
    config = BuildConfig(
        source={"kind": "stackexchange", "dumps": [folder], "stackexchange": {"site": SITE}}
    )
    results = demo.run(tmp_path / "wh.duckdb", config, "ingest", "staging")
    assert results["ingest"].rows == {
        "raw_submissions": 2,
        "raw_comments": 4,
        "quarantine": 4,
        "ingest_files": 3,
        "ingest_runs": 1,
    }
    assert results["ingest"].dropped == {
        "bad_type:PostId": 1,
        "filtered": 3,
        "invalid_xml": 1,
        "missing_ParentId": 1,
        "missing_PostId": 1,
    }
    top = demo.read(tmp_path / "wh.duckdb", "select id, is_top_level from stg_comments order by 1")
    # answers are replies to the thread (options); comments never are, even on the question
    assert top == [("se-qc-2", True), ("se-qc-3", True), ("se-qc-c10", False), ("se-qc-c11", False)]


def test_the_cli_ingests_a_site_folder_named_by_site(tmp_path, prefect_harness):
    folder, wh = write_dump(tmp_path / "data"), tmp_path / "cli.duckdb"
    get_settings.cache_clear()
    unnamed = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["-w", str(wh), "ingest", str(folder)])
    assert unnamed.exit_code == 2 and "cannot tell which site" in unnamed.output
    args = ["-w", str(wh), "ingest", str(folder), "--site", SITE]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "rows written: stg_submissions=2, stg_comments=4" in result.output
    assert demo.read(wh, "select distinct subreddit from stg_comments") == [(SITE,)]
