"""Stack Exchange rows → raw rows: one XML row per line, literal rows in, literal rows out."""

from __future__ import annotations

from datetime import datetime

import pytest

from communitybench.sources.stackexchange.archive import (
    NotASiteDump,
    is_site_dump,
    site_name,
)
from communitybench.sources.stackexchange.dump import (
    BadRow,
    comment_row,
    html_to_text,
    parse_line,
    post_row,
    scrub_mentions,
    tags_of,
    vote_of,
)

SITE = "quantumcomputing.stackexchange.com"


def test_html_to_text():
    html = "<p>x &lt; y &amp;&amp; <code>z</code></p>\n\n\n\n<p>b</p>"
    assert html_to_text(html) == "x < y && z\n\nb"
    assert html_to_text(None) == ""


def test_mentions_of_display_names_are_scrubbed_but_emails_kept():
    text = "@Alice Smith thanks, @bob.k: mail me at a@b.org (cc @_x-y)"
    assert scrub_mentions(text) == "@user Smith thanks, @user: mail me at a@b.org (cc @user)"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'  <row Id="1" Score="2"', "invalid_xml"),
        (b'  <row Id="1" Body="a & b" />', "invalid_xml"),
        (b'  <post Id="1" />', "not_a_row"),
        (b'  <row Id="1" Text="caf\xe9" />', "invalid_utf8"),
    ],
)
def test_malformed_lines_name_their_reason(line, reason):
    with pytest.raises(BadRow) as err:
        parse_line(line)
    assert err.value.reason == reason


def test_declaration_root_and_blank_lines_are_no_rows():
    for line in (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n',
        b"<posts>\n",
        b"</posts>",
    ):
        assert parse_line(line) is None
    assert parse_line(b"\n") is None
    assert parse_line(b'  <row Id="7" Title="a &amp; b&#xA;c" />\r\n') == {
        "Id": "7",
        "Title": "a & b\nc",
    }


def test_only_up_and_down_votes_count():
    assert vote_of({"PostId": "5", "VoteTypeId": "2"}) == (5, 2)
    assert vote_of({"PostId": "5", "VoteTypeId": "3"}) == (5, 3)
    assert vote_of({"PostId": "5", "VoteTypeId": "1"}) is None  # accepted: metadata
    with pytest.raises(BadRow, match="bad_type:PostId"):
        vote_of({"PostId": "x", "VoteTypeId": "2"})


def test_questions_and_answers():
    question = post_row(
        {
            "Id": "1",
            "PostTypeId": "1",
            "CreationDate": "2018-03-12T17:00:45.567",
            "Score": "3",
            "Title": "Why?",
            "Body": "<p>Ask @Carol</p>",
            "OwnerUserId": "7",
            "OwnerDisplayName": "Dana",
            "AnswerCount": "2",
            "Tags": "<qiskit><entanglement>",
        },
        site=SITE,
    )
    assert question == {
        "post_number": 1,
        "id": "se-quantumcomputing-1",
        "subreddit": SITE,
        "author": "se:quantumcomputing:7",
        "score": 3,
        "created_utc": datetime(2018, 3, 12, 17, 0, 45, 567000),
        "stickied": False,
        "status": "ok",
        "source": "stackexchange",
        "kind": "submission",
        "title": "Why?",
        "selftext": "Ask @user\n\nTags: qiskit, entanglement",
        "num_comments": 2,
        "url": f"https://{SITE}/q/1",
    }
    answer = post_row(
        {"Id": "2", "PostTypeId": "2", "ParentId": "1", "CreationDate": "2018-03-13T00:00:00"},
        site=SITE,
    )
    assert (answer["kind"], answer["link_id"], answer["parent_id"], answer["author"]) == (
        "comment",
        "se-quantumcomputing-1",
        "t3_se-quantumcomputing-1",
        None,  # no OwnerUserId: a deleted account
    )
    assert post_row({"Id": "3", "PostTypeId": "4"}, site=SITE) is None  # a tag wiki
    community = {"Id": "4", "PostTypeId": "1", "CreationDate": "2018-03-13", "OwnerUserId": "-1"}
    assert post_row(community, site=SITE)["author"] is None  # the site's background process


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"PostTypeId": "1", "CreationDate": "2018-03-13"}, "missing_Id"),
        ({"Id": "1", "PostTypeId": "1"}, "missing_CreationDate"),
        ({"Id": "1", "PostTypeId": "1", "CreationDate": "yesterday"}, "bad_type:CreationDate"),
        (
            {"Id": "1", "PostTypeId": "1", "CreationDate": "2018-03-13", "Score": "x"},
            "bad_type:Score",
        ),
        ({"Id": "1", "PostTypeId": "2", "CreationDate": "2018-03-13"}, "missing_ParentId"),
    ],
)
def test_bad_posts_name_their_reason(row, reason):
    with pytest.raises(BadRow) as err:
        post_row(row, site=SITE)
    assert err.value.reason == reason


def test_comments_link_to_their_post_and_carry_no_down_votes():
    row = {
        "Id": "13",
        "PostId": "7",
        "Score": "2",
        "Text": "@Eve see &lt;this&gt;",
        "CreationDate": "2018-03-12T17:28:16.097",
        "UserId": "20",
        "UserDisplayName": "Eve",
    }
    out = comment_row(row, site=SITE)
    assert out["id"] == "se-quantumcomputing-c13" and out["post_ref"] == "se-quantumcomputing-7"
    assert (out["score"], out["ups"], out["downs"]) == (2, 2, 0)
    assert out["body"] == "@user see &lt;this&gt;"  # plain text (markdown), kept as written
    assert out["author"] == "se:quantumcomputing:20" and out["source"] == "stackexchange_comment"
    assert "Eve" not in repr(out)


def test_tags_in_either_dump_format():
    assert tags_of("<a><b-c>") == tags_of("|a|b-c|") == ["a", "b-c"]
    assert tags_of(None) == []


def test_site_names(tmp_path):
    assert site_name(tmp_path / "quantumcomputing.stackexchange.com.7z", None) == SITE
    assert site_name(tmp_path / "MathOverflow.net", None) == "mathoverflow.net"
    assert site_name(tmp_path / "data", "QC.stackexchange.com") == "qc.stackexchange.com"
    with pytest.raises(NotASiteDump, match=r"set \[source.stackexchange\] site"):
        site_name(tmp_path / "data", None)
    (tmp_path / "Posts.xml").write_text("<posts></posts>")
    assert is_site_dump(tmp_path) and is_site_dump(tmp_path / "x.7z")
    assert not is_site_dump(tmp_path / "Posts.xml")
