"""The real quantumcomputing Stack Exchange dump through the real stages: load → staging → texts
→ embeddings → members → communities (HDBSCAN) → labels. Where up and down votes are known, the
Beta estimator must use them: U and D are counted here independently of the adapter.

The default run takes the site's first 200 questions with their answers and votes (the dump's
answers are long: embedding all 1,663 texts costs ~75 s on 2 cores); the slow test runs the
whole dump with the same checks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import warehouse
from communitybench.settings import get_settings
from communitybench.sources.stackexchange.dump import load_stackexchange
from tests.fixtures import demo
from tests.fixtures.data import shared_path

STAGES = ("staging", "texts", "embeddings", "members", "communities", "labels")
# one global scope (a single site), small clusters, every answerer a member, and threads owned
# by one clustered answerer: the dump has ~1.7 answers per question, arriving over days
SECTIONS = {
    "communities": {"scope": "global", "min_cluster_size": 5, "min_samples": 2, "pca_dim": 10},
    "members": {"min_texts": 1},
    "tasks": {"option_window_hours": 24 * 365, "own_min": 1},
}


def real_votes(folder: Path) -> dict[str, tuple[int, int]]:
    """U and D per post, counted independently of the adapter (a regex over Votes.xml)."""
    text = (folder / "Votes.xml").read_text(encoding="utf-8-sig")
    pairs = re.findall(r'PostId="(\d+)" VoteTypeId="([23])"', text)
    up = Counter(p for p, t in pairs if t == "2")
    down = Counter(p for p, t in pairs if t == "3")
    return {f"t1_se-{p}": (up[p], down[p]) for p in set(up) | set(down)}


def post_types(folder: Path) -> Counter:
    """Questions ("1") and answers ("2") in Posts.xml, by regex."""
    text = (folder / "Posts.xml").read_text(encoding="utf-8-sig")
    return Counter(re.findall(r'<row Id="\d+" PostTypeId="(\d)"', text))


FIRST_QUESTIONS = 200


def first_questions(source: Path, out: Path, n: int) -> Path:
    """A dump folder with the site's first ``n`` questions (by id), their answers and votes."""
    out.mkdir(parents=True, exist_ok=True)
    posts = [row.attrib for row in ET.parse(source / "Posts.xml").getroot()]
    questions = sorted(int(r["Id"]) for r in posts if r.get("PostTypeId") == "1")[:n]
    wanted = {str(q) for q in questions}
    kept = [r for r in posts if r["Id"] in wanted or r.get("ParentId") in wanted]
    ids = {r["Id"] for r in kept}
    votes = [row.attrib for row in ET.parse(source / "Votes.xml").getroot()]
    for name, tag, rows in (
        ("Posts.xml", "posts", kept),
        ("Votes.xml", "votes", [v for v in votes if v.get("PostId") in ids]),
    ):
        root = ET.Element(tag)
        for attributes in rows:
            ET.SubElement(root, "row", attributes)
        ET.ElementTree(root).write(out / name, encoding="utf-8", xml_declaration=True)
    return out


def build(folder: Path, wh: Path):
    """The dump loaded twice (idempotence), then built through the stages once."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", "stackexchange-test-key")  # real data: a key
        get_settings.cache_clear()
        with warehouse.connect(wh) as con:
            warehouse.ensure_tables(con, layer="raw")
            loads = [load_stackexchange(con, folder, site="quantumcomputing") for _ in range(2)]
        config = demo.config_for([], **SECTIONS)
        results = demo.run(wh, config, *STAGES)
    get_settings.cache_clear()
    return folder, wh, config, loads, results


@pytest.fixture(scope="module")
def se_build(tmp_path_factory):
    """The first questions of the real dump through the stages, once per module."""
    source = shared_path("stackexchange", "quantumcomputing-2018", "data")
    root = tmp_path_factory.mktemp("stackexchange")
    return build(first_questions(source, root / "dump", FIRST_QUESTIONS), root / "wh.duckdb")


def test_the_dump_loads_every_question_and_answer_once(se_build):
    folder, wh, _, (loaded, again), _ = se_build
    types, votes = post_types(folder), real_votes(folder)
    assert (loaded["submissions"], loaded["comments"]) == (types["1"], types["2"])
    assert loaded["submissions"] == FIRST_QUESTIONS and loaded["comments"] > FIRST_QUESTIONS
    answers = {f"t1_{i}" for (i,) in demo.read(wh, "select id from raw_comments")}
    assert loaded["answers_with_down_votes"] == sum(votes.get(a, (0, 0))[1] > 0 for a in answers)
    assert (again["submissions"], again["comments"]) == (0, 0)  # idempotent


def test_staging_keeps_the_real_votes(se_build):
    folder, wh, _, _, results = se_build
    votes = real_votes(folder)
    rows = demo.read(wh, "select 't1_' || id, score, ups, downs from stg_comments")
    assert all(score == ups - downs for _, score, ups, downs in rows)
    assert {i: (u, d) for i, _, u, d in rows if u or d} == {
        i: v for i, v in votes.items() if i in {r[0] for r in rows} and v != (0, 0)
    }
    assert dict(results["staging"].rows) == {
        "stg_submissions": post_types(folder)["1"],
        "stg_comments": post_types(folder)["2"],
    }


def test_beta_estimator_uses_the_real_up_and_down_votes(se_build):
    check_beta_updown(se_build, min_option_sets=25)


@pytest.mark.slow
def test_the_whole_dump_through_the_stages(tmp_path):
    folder = shared_path("stackexchange", "quantumcomputing-2018", "data")
    built = build(folder, tmp_path / "wh.duckdb")
    (loaded, _) = built[3]
    assert (loaded["submissions"], loaded["comments"]) == (612, 1060)
    check_beta_updown(built, min_option_sets=50)


def check_beta_updown(se_build, *, min_option_sets: int) -> None:
    """Every option set uses beta_updown with the U and D of Votes.xml; down votes matter."""
    folder, wh, config, _, results = se_build
    labels = results["labels"].details
    figures = {
        "members": results["members"].rows["members"],
        "communities": results["communities"].rows["communities"],
        "owning communities": demo.read(
            wh, "select count(distinct community_id) from thread_ownership where is_owner"
        )[0][0],
        "owned threads": labels["owned_threads"],
        "option sets": labels["option_sets"],
    }
    print(f"\nquantumcomputing through the stages: {figures}")
    assert figures["communities"] >= 2 and figures["owning communities"] >= 1
    assert labels["option_sets"] >= min_option_sets
    assert labels["estimators"] == {"beta_updown": labels["option_sets"]}
    votes = real_votes(folder)
    rows = demo.read(
        wh,
        "select d.option_ids, d.distribution, d.a0, d.b0, o.updown_known from distributions d "
        "join option_sets o using (option_set_id)",
    )
    assert len(rows) == labels["option_sets"]
    with_downs = 0
    for option_ids, distribution, a0, b0, updown_known in rows:
        assert updown_known and (a0, b0) == (config.tasks.a0, config.tasks.b0)
        u, d = np.array([votes.get(o, (0, 0)) for o in option_ids]).T
        r = (a0 + u) / (a0 + b0 + u + d)
        assert distribution == pytest.approx(list(r / r.sum()))
        with_downs += int(d.sum() > 0)
    assert with_downs >= 10  # real down votes shape these distributions
