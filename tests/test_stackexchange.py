"""Stack Exchange adapter: Posts.xml + Votes.xml → raw rows whose ups/downs are the real votes.

On the real quantumcomputing dump the Beta estimator must use those U and D.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import warehouse
from communitybench import stages
from communitybench import tasks as stage
from communitybench.config import BuildConfig, CleanConfig
from communitybench.sources.stackexchange.dump import (
    count_votes,
    html_to_text,
    load_stackexchange,
    post_rows,
)
from tests.conftest import shared_path
from tests.test_tasks_demo import EMBED_MODEL, EMBED_REVISION, write_test_marts

POSTS = """<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2018-03-12T17:00:45.567" Score="3" Title="Why &amp; how?" Body="&lt;p&gt;A &lt;b&gt;question&lt;/b&gt;&lt;/p&gt;" OwnerUserId="7" AnswerCount="2" />
  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T18:00:00.000" Score="1" Body="&lt;p&gt;Answer one&lt;/p&gt;" OwnerUserId="8" />
  <row Id="3" PostTypeId="2" ParentId="1" CreationDate="2018-03-12T19:00:00.000" Score="0" Body="&lt;p&gt;Answer two&lt;/p&gt;" />
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


def test_html_to_text():
    html = "<p>x &lt; y &amp;&amp; <code>z</code></p>\n\n\n\n<p>b</p>"
    assert html_to_text(html) == "x < y && z\n\nb"


def test_adapter_rows_carry_real_up_and_down_votes(tmp_path):
    (tmp_path / "Posts.xml").write_text(POSTS)
    (tmp_path / "Votes.xml").write_text(VOTES)
    assert count_votes(tmp_path / "Votes.xml") == {"2": (2, 1), "3": (0, 1)}
    submissions, comments = post_rows(tmp_path, site="QC", run_id="r")
    assert [s["id"] for s in submissions] == ["se-1"]
    assert submissions[0]["title"] == "Why & how?" and submissions[0]["selftext"] == "A question"
    assert [(c["id"], c["link_id"], c["parent_id"], c["ups"], c["downs"]) for c in comments] == [
        ("se-2", "se-1", "t3_se-1", 2, 1),
        ("se-3", "se-1", "t3_se-1", 0, 1),
    ]
    assert comments[0]["author"] == "se-user-8" and comments[1]["author"] is None
    assert {r["source"] for r in submissions + comments} == {"stackexchange"}
    assert {r["subreddit"] for r in comments} == {"qc"}


def _real_votes(folder: Path) -> dict[str, tuple[int, int]]:
    """U and D per post, counted independently of the adapter (a regex over Votes.xml)."""
    text = (folder / "Votes.xml").read_text(encoding="utf-8-sig")
    pairs = re.findall(r'PostId="(\d+)" VoteTypeId="([23])"', text)
    up = Counter(p for p, t in pairs if t == "2")
    down = Counter(p for p, t in pairs if t == "3")
    return {f"t1_se-{p}": (up[p], down[p]) for p in set(up) | set(down)}


def test_beta_estimator_uses_the_real_up_and_down_votes(tmp_path):
    folder = shared_path("stackexchange", "quantumcomputing-2018", "data")
    wh = tmp_path / "se.duckdb"
    with warehouse.connect(wh) as con:
        warehouse.ensure_tables(con, layer="raw")
        loaded = load_stackexchange(con, folder, site="quantumcomputing")
        again = load_stackexchange(con, folder, site="quantumcomputing")
    assert loaded["submissions"] > 500 and loaded["comments"] > 1000
    assert again["submissions"] == again["comments"] == 0  # idempotent
    stages.run_staging(wh, **stages.staging_kwargs(CleanConfig()))
    with warehouse.connect(wh) as con:
        assert con.execute("select bool_and(score = ups - downs) from stg_comments").fetchone()
        authors = con.execute("select distinct author from stg_comments where author is not null")
        community_of = {a: "qc" for (a,) in authors.fetchall()}
    write_test_marts(wh, community_of, min_texts=1)
    from flows.tasks import labels_kwargs

    config = BuildConfig(
        embed={"model": EMBED_MODEL, "revision": EMBED_REVISION},
        tasks={"option_window_hours": 24 * 365},  # answers arrive over days, not hours
    )
    summary = stage.run_labels(wh, **labels_kwargs(config))
    assert summary["option_sets"] > 50
    assert summary["estimators"] == {"beta_updown": summary["option_sets"]}
    votes = _real_votes(folder)
    with warehouse.connect(wh, read_only=True) as con:
        rows = con.execute("select option_ids, distribution, a0, b0 from distributions").fetchall()
    with_downs = 0
    for option_ids, distribution, a0, b0 in rows:
        u, d = np.array([votes.get(o, (0, 0)) for o in option_ids]).T
        r = (a0 + u) / (a0 + b0 + u + d)
        assert distribution == pytest.approx(list(r / r.sum()))
        with_downs += int(d.sum() > 0)
    assert with_downs >= 10  # real down votes shape these distributions
