"""Stack Exchange data dumps (Posts.xml + Votes.xml) → raw observation rows with real votes.

Stack Exchange is the one source here with separate up and down votes: Votes.xml lists every
vote with ``VoteTypeId`` 2 (up) and 3 (down). A question becomes a submission (a thread), an
answer a top-level comment whose ``ups``/``downs`` are those counts, so the Beta estimator of
DESIGN.md can use the real U and D. Rows carry ``source = 'stackexchange'`` (the value listed in
``[tasks].updown_sources``) and are appended to ``raw_submissions`` / ``raw_comments``; staging
then treats them like any other observation. Ids are ``se-<PostId>`` (never a Reddit id).
Authors are ``se-user-<OwnerUserId>``; posts of deleted accounts have no author.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

import schemas

SOURCE = "stackexchange"
UP_VOTE, DOWN_VOTE = "2", "3"
QUESTION, ANSWER = "1", "2"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")


def html_to_text(body: str | None) -> str:
    """Post HTML as plain text: tags dropped, entities decoded, blank runs collapsed."""
    text = _TAG.sub(" ", body or "")
    text = html.unescape(text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _rows(path: Path):
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == "row":
            yield dict(elem.attrib)
            elem.clear()


def count_votes(votes_xml: Path) -> dict[str, tuple[int, int]]:
    """{PostId: (up votes, down votes)} from Votes.xml (VoteTypeId 2 = up, 3 = down)."""
    up, down = Counter(), Counter()
    for row in _rows(votes_xml):
        if row.get("VoteTypeId") == UP_VOTE:
            up[row["PostId"]] += 1
        elif row.get("VoteTypeId") == DOWN_VOTE:
            down[row["PostId"]] += 1
    return {post: (up[post], down[post]) for post in set(up) | set(down)}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def post_rows(folder: Path, *, site: str, run_id: str) -> tuple[list[dict], list[dict]]:
    """Raw submission rows (questions) and raw comment rows (answers) from one site's dump.

    Args:
        folder: The folder holding Posts.xml and Votes.xml.
        site: Site name, used as the subreddit (lower-cased).
        run_id: The ingest run that writes the rows.
    """
    votes = count_votes(folder / "Votes.xml")
    posts = [r for r in _rows(folder / "Posts.xml") if r.get("PostTypeId") in (QUESTION, ANSWER)]
    # the dump's snapshot time: its latest timestamp (deterministic, unlike the clock)
    retrieved = max(_time(p.get("LastActivityDate") or p["CreationDate"]) for p in posts)
    submissions, comments = [], []
    for post in posts:
        up, down = votes.get(post["Id"], (0, 0))
        owner = post.get("OwnerUserId")
        row = {
            "obs_id": f"se:{site}:{post['Id']}",
            "id": f"se-{post['Id']}",
            "subreddit": site.lower(),
            "author": f"se-user-{owner}" if owner else None,
            "score": int(post.get("Score", 0)),
            "ups": up,
            "downs": down,
            "created_utc": _time(post["CreationDate"]),
            "distinguished": None,
            "stickied": False,
            "status": "ok",
            "retrieved_at": retrieved,
            "source": SOURCE,
            "source_file": "Posts.xml",
            "source_line": None,
            "ingest_run_id": run_id,
        }
        if post["PostTypeId"] == QUESTION:
            submissions.append(
                {
                    **row,
                    "title": html.unescape(post.get("Title", "")),
                    "selftext": html_to_text(post.get("Body")),
                    "num_comments": int(post.get("AnswerCount", 0)),
                    "upvote_ratio": None,
                    "url": None,
                }
            )
        else:
            parent = f"se-{post['ParentId']}"
            comments.append(
                {
                    **row,
                    "link_id": parent,
                    "parent_id": "t3_" + parent,
                    "body": html_to_text(post.get("Body")),
                }
            )
    return submissions, comments


def load_stackexchange(
    con: duckdb.DuckDBPyConnection, folder: Path, *, site: str, run_id: str = "stackexchange"
) -> dict:
    """Append a site's questions and answers to the raw tables (skipping rows already there).

    Returns:
        Counts of submissions and comments written and of answers with down votes.
    """
    folder = Path(folder)
    for name in ("Posts.xml", "Votes.xml"):
        if not (folder / name).exists():
            raise FileNotFoundError(
                f"{folder / name} is missing: a Stack Exchange dump folder "
                "holds Posts.xml and Votes.xml"
            )
    submissions, comments = post_rows(folder, site=site, run_id=run_id)
    written = {}
    for table, rows in (("raw_submissions", submissions), ("raw_comments", comments)):
        con.execute(schemas.ddl(schemas.load_schema(table)))
        schema = schemas.arrow_schema(schemas.load_schema(table))
        con.register("_se", pa.Table.from_pylist(rows, schema=schema))
        written[table] = con.execute(
            f"insert into {table} by name select * from _se "
            f"where obs_id not in (select obs_id from {table})"
        ).fetchall()[0][0]
        con.unregister("_se")
    return {
        "source": SOURCE,
        "site": site,
        "submissions": written["raw_submissions"],
        "comments": written["raw_comments"],
        "answers_with_down_votes": sum(1 for c in comments if c["downs"] > 0),
    }
