"""One warehouse holding two sources: the demo forum's Reddit-format dumps (already built by the
session's ``demo_build``) and the first questions of the real quantumcomputing Stack Exchange dump,
ingested beside them and built through the same stages, gates and release. The card lists which
estimator produced each source's distributions; no Stack Exchange display name leaves the
warehouse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from communitybench import pipeline
from communitybench.config import BuildConfig
from communitybench.settings import get_settings
from tests.fixtures import demo
from tests.fixtures.data import shared_path
from tests.fixtures.release import all_bytes

SITE = "quantumcomputing.stackexchange.com"
QUESTIONS = 120
STAGES = ("ingest", *demo.BUILD_STAGES[1:])
SECTIONS = {
    "communities": {"min_cluster_size": 5, "min_samples": 2, "pca_dim": 10},
    "members": {"min_texts": 2},
    "tasks": {"option_window_hours": 24 * 365, "own_min": 1},
}


def plain_rows(path: Path):
    for _, element in ET.iterparse(path):
        if element.tag == "row":
            yield element.attrib


def first_questions(source: Path, out: Path, n: int) -> Path:
    """The first ``n`` questions with their answers, votes and comments (one row per line)."""
    out.mkdir(parents=True)
    posts = list(plain_rows(source / "Posts.xml"))
    wanted = {str(q) for q in sorted(int(r["Id"]) for r in posts if r["PostTypeId"] == "1")[:n]}
    kept = [r for r in posts if r["Id"] in wanted or r.get("ParentId") in wanted]
    ids = {r["Id"] for r in kept}
    for name in ("Posts", "Votes", "Comments"):
        rows = (
            kept
            if name == "Posts"
            else [r for r in plain_rows(source / f"{name}.xml") if r.get("PostId") in ids]
        )
        root = ET.Element(name.lower())
        for attributes in rows:
            ET.SubElement(root, "row", attributes)
        ET.indent(root)
        ET.ElementTree(root).write(out / f"{name}.xml", encoding="utf-8", xml_declaration=True)
    return out


@pytest.fixture(scope="module")
def mixed(demo_build, tmp_path_factory):
    """The demo build's warehouse plus the Stack Exchange slice, through tasks and release."""
    source = shared_path("stackexchange", "quantumcomputing-2018", "data")
    root = tmp_path_factory.mktemp("mixed")
    folder = first_questions(source, root / "data", QUESTIONS)
    wh = demo_build.copy(root / "wh.duckdb")
    files = demo.dump_files(demo_build.config.source.demo.out_dir)
    config = BuildConfig(
        source={"kind": "dumps", "dumps": [*files, folder], "stackexchange": {"site": SITE}},
        **SECTIONS,
    )
    dirs = {"releases_dir": root / "releases", "build_dir": root / "build"}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", "mixed-test-key")
        get_settings.cache_clear()
        results = demo.run(wh, config, *STAGES)
        versions = pipeline.versions()
        release = pipeline.execute(
            pipeline.stage("release"), config, wh, **dirs, stage_versions=versions
        )
    get_settings.cache_clear()
    return source, folder, wh, results, Path(release.details["path"])


def test_both_sources_reach_the_task_tables(mixed):
    _, _, wh, results, _ = mixed
    # the demo files were ingested by the demo build already: only the site's three files are new
    ingest = results["ingest"]
    assert ingest.work[0].computed == 3 and ingest.rows["raw_submissions"] == QUESTIONS
    # DP: every non-degenerate distribution (PI also needs a margin: 1 SE instance measured)
    forums = dict(demo.read(wh, "select subreddit = ?, count(*) from task_dp group by 1", [SITE]))
    print(f"\nDP instances: demo forum {forums.get(False, 0)}, {SITE} {forums.get(True, 0)}")
    assert forums.get(True) and forums.get(False)
    for table in ("task_pi", "task_dp", "task_ccg", "task_ci"):
        assert demo.read(wh, f"select count(*) from {table}")[0][0] > 0, table


def test_the_card_lists_the_estimator_of_each_source(mixed):
    _, _, wh, _, release = mixed
    expected = demo.read(
        wh,
        "select s.source, d.estimator, count(*) from distributions d "
        "join (select distinct id, source from stg_submissions) s on s.id = d.thread_id "
        "group by all order by all",
    )
    assert [(s, e) for s, e, _ in expected] == [
        ("dump", "dirichlet_score_exposure"),  # exposure-adjusted (issue 13)
        ("stackexchange", "beta_updown_exposure"),
    ]
    card = (release / "README.md").read_text()
    assert "## Preference estimators per source" in card
    for source, estimator, n in expected:
        assert re.search(rf"\| {source} \| {estimator} \| {n} \|", card), (source, estimator)


def test_no_display_name_leaves_the_warehouse(mixed):
    """Display names of the site's authors (Users.xml, and the names dumps carry on posts and
    comments) appear in no release file. Names that people wrote into their texts other than as
    @mentions are texts, not leaks, and are not checked; @mentions are scrubbed."""
    source, folder, _, _, release = mixed
    authors = {r.get("OwnerUserId") for r in plain_rows(folder / "Posts.xml")}
    authors |= {r.get("UserId") for r in plain_rows(folder / "Comments.xml")}
    names = {r["DisplayName"] for r in plain_rows(source / "Users.xml") if r["Id"] in authors}
    texts = " ".join(
        r.get("Body", "") + r.get("Title", "") + r.get("Text", "")
        for name in ("Posts", "Comments")
        for r in plain_rows(folder / f"{name}.xml")
    )
    written = re.sub(r"@[\w.\-]+", " ", texts)  # what people wrote, @mentions left out
    checked = {n for n in names if len(n) >= 4 and n not in written}
    mentioned = {n for n in checked if f"@{n}" in texts or f"@{n.replace(' ', '')}" in texts}
    assert len(checked) >= 50 and mentioned  # names that only appear as @mentions are checked
    data = all_bytes(release).decode("utf-8", "replace")
    assert sorted(n for n in checked if n in data) == []
