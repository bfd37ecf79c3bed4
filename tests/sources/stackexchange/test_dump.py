"""Stack Exchange adapter: Posts.xml + Votes.xml → raw rows whose ups/downs are the real votes
(inline XML, counts by hand)."""

from __future__ import annotations

import pytest

import warehouse
from communitybench.sources.stackexchange.dump import (
    count_votes,
    html_to_text,
    load_stackexchange,
    post_rows,
)

POSTS = """<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2018-03-12T17:00:45.567" Score="3" Title="Why &amp; how?" Body="&lt;p&gt;A &lt;b&gt;question&lt;/b&gt;&lt;/p&gt;" OwnerUserId="7" AnswerCount="2" />
  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T18:00:00.000" Score="1" Body="&lt;p&gt;Answer one&lt;/p&gt;" OwnerUserId="8" />
  <row Id="3" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T19:00:00.000" LastActivityDate="2018-03-14T09:30:00.000" Score="0" Body="&lt;p&gt;Answer two&lt;/p&gt;" />
  <row Id="4" PostTypeId="4" CreationDate="2018-03-12T19:00:00.000" Score="0" Body="tag wiki" />
</posts>
"""  # noqa: E501  (XML rows are long by nature)
VOTES = """<?xml version="1.0" encoding="utf-8"?>
<votes>
  <row Id="1" PostId="2" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="2" PostId="2" VoteTypeId="2" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="3" PostId="2" VoteTypeId="3" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="4" PostId="3" VoteTypeId="3" CreationDate="2018-03-12T00:00:00.000" />
  <row Id="5" PostId="3" VoteTypeId="1" CreationDate="2018-03-12T00:00:00.000" />
</votes>
"""


@pytest.fixture
def dump(tmp_path):
    (tmp_path / "Posts.xml").write_text(POSTS)
    (tmp_path / "Votes.xml").write_text(VOTES)
    return tmp_path


def test_html_to_text():
    html = "<p>x &lt; y &amp;&amp; <code>z</code></p>\n\n\n\n<p>b</p>"
    assert html_to_text(html) == "x < y && z\n\nb"
    assert html_to_text(None) == ""


def test_votes_count_ups_and_downs_only(dump):
    # post 2: two up (type 2), one down (type 3); post 3: one down, one accept (type 1: ignored)
    assert count_votes(dump / "Votes.xml") == {"2": (2, 1), "3": (0, 1)}


def test_adapter_rows_carry_real_up_and_down_votes(dump):
    submissions, comments = post_rows(dump, site="QC", run_id="r")
    assert [s["id"] for s in submissions] == ["se-1"]  # the tag wiki (type 4) is no thread
    assert submissions[0]["title"] == "Why & how?" and submissions[0]["selftext"] == "A question"
    assert (submissions[0]["ups"], submissions[0]["downs"], submissions[0]["num_comments"]) == (
        0,
        0,
        2,
    )
    assert [(c["id"], c["link_id"], c["parent_id"], c["ups"], c["downs"]) for c in comments] == [
        ("se-2", "se-1", "t3_se-1", 2, 1),
        ("se-3", "se-1", "t3_se-1", 0, 1),
    ]
    assert [c["body"] for c in comments] == ["Answer one", "Answer two"]
    assert comments[0]["author"] == "se-user-8" and comments[1]["author"] is None
    assert submissions[0]["author"] == "se-user-7"
    assert {r["source"] for r in submissions + comments} == {"stackexchange"}
    assert {r["subreddit"] for r in submissions + comments} == {"qc"}
    assert [r["obs_id"] for r in submissions + comments] == ["se:QC:1", "se:QC:2", "se:QC:3"]
    # the snapshot time is the dump's latest activity, the same for every row
    assert {str(r["retrieved_at"]) for r in submissions + comments} == {"2018-03-14 09:30:00"}


def test_load_appends_raw_rows_once(dump, con):
    loaded = load_stackexchange(con, dump, site="qc")
    assert loaded == {
        "source": "stackexchange",
        "site": "qc",
        "submissions": 1,
        "comments": 2,
        "answers_with_down_votes": 2,
    }
    again = load_stackexchange(con, dump, site="qc")
    assert (again["submissions"], again["comments"]) == (0, 0)  # idempotent
    rows = con.execute("select id, score, ups, downs from raw_comments order by id").fetchall()
    assert rows == [("se-2", 1, 2, 1), ("se-3", 0, 0, 1)]
    assert warehouse.row_count(con, "raw_submissions") == 1


def test_a_folder_without_votes_fails_clearly(tmp_path, con):
    (tmp_path / "Posts.xml").write_text(POSTS)
    with pytest.raises(FileNotFoundError, match="Votes.xml is missing: a Stack Exchange dump"):
        load_stackexchange(con, tmp_path, site="qc")
