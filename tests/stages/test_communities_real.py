"""Real text: the airline-subreddit sample (../shared) through ingest → staging → communities.

The sample is an API scrape with its own field names; ``airline_dumps`` (tests/fixtures/real.py)
adapts it to Pushshift NDJSON (the dump reader's input), so the real path from raw observations
onwards is exercised.
Skipped when the shared data is not there.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

import warehouse
from communitybench import pipeline
from communitybench.settings import get_settings
from tests.fixtures import demo
from tests.fixtures.communities import COMMUNITY_STAGES
from tests.fixtures.data import shared_path
from tests.fixtures.real import airline_dumps
from transforms.members import pseudonymize

# two of the six subreddits keep the default run short (~2.1k real texts); across subreddits
# (scope global) their regulars separate by airline in every PCA size / density setting tried
SUBREDDITS = ["frontierairlines", "HawaiianAirlines"]
# ~200 members of a small API sample are far sparser than a forum's worth: looser density
COMMUNITIES = {"scope": "global", "pca_dim": 10, "min_cluster_size": 10, "min_samples": 3}
KEY = "test-key-for-real-data"


@pytest.fixture
def real_key(monkeypatch):
    monkeypatch.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def airline_embedded(tmp_path_factory) -> tuple[Path, list[Path], dict]:
    """The two airline subreddits ingested, staged and embedded once for this module (the
    embedding cache serves both scopes); tests copy the warehouse."""
    folder = shared_path("reddit", "airline-subreddits-2024", "data")
    root = tmp_path_factory.mktemp("airline")
    dumps = airline_dumps(folder, root, SUBREDDITS)
    config = demo.config_for(dumps)
    results = {}
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", KEY)
        get_settings.cache_clear()
        warnings.simplefilter("error", UserWarning)  # real data must not fall back to the dev key
        for stage in pipeline.select(config, ("ingest", "staging", "texts", "embeddings")):
            results[stage.name] = pipeline.execute(stage, config, root / "wh.duckdb")
    get_settings.cache_clear()
    return root / "wh.duckdb", dumps, results


def test_airline_sample_yields_communities_from_real_text(airline_embedded, wh_path, real_key):
    built, dumps, results = airline_embedded
    shutil.copy(built, wh_path)
    config = demo.config_for(dumps, communities=COMMUNITIES)
    results = dict(results)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # real data must not fall back to the dev key
        for stage in pipeline.select(config, COMMUNITY_STAGES[1:]):
            results[stage.name] = pipeline.execute(stage, config, wh_path)
    com = results["communities"].details
    print(json.dumps({k: com[k] for k in ("members", "communities", "noise_share", "scopes")}))
    embedded = results["embeddings"].counts("texts")
    assert embedded.computed + embedded.reused == results["texts"].details["distinct"] > 1000
    assert com["communities"] >= 1 and [s["scope"] for s in com["scopes"]] == ["global"]
    with warehouse.connect(wh_path, read_only=True) as con:
        ids = con.sql("select author, member_id from members order by author").fetchall()
        # per community: size, the members' real texts, and the share of its largest airline
        # (each member counted under the subreddit they post in most)
        rows = con.sql(
            "with home as ("
            "  select author, mode(subreddit) as subreddit, count(*) as texts from texts"
            "  group by author"
            "), per_sub as ("
            "  select ms.community_id, home.subreddit, count(*) as n, sum(home.texts) as texts"
            "  from memberships as ms join members as m using (member_id, scope)"
            "  join home using (author) where ms.community_id is not null and ms.level = 'sub' "
            "  group by all"
            ") select community_id, any_value(c.size), sum(texts), max(n) / sum(n) "
            "from per_sub join communities as c using (community_id) group by community_id"
        ).fetchall()
    assert [m for _, m in ids] == pseudonymize([a for a, _ in ids], key=KEY)  # the secret key
    assert rows and all(size >= 10 and texts >= 3 * size for _, size, texts, _ in rows)
    # the communities are not arbitrary: one is mostly the regulars of a single airline
    assert max(share for *_, share in rows) >= 0.75, rows


def test_airline_sample_default_settings_give_forums_and_every_task(
    airline_embedded, wh_path, real_key
):
    """Default settings (scope subreddit): each subreddit with enough members is a forum
    community, and all four task tables have instances, at the forum level at least."""
    built, dumps, _ = airline_embedded
    shutil.copy(built, wh_path)
    config = demo.config_for(dumps)
    stages = ("members", "communities", "labels", "profiles", "tasks")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        results = {
            s.name: pipeline.execute(s, config, wh_path) for s in pipeline.select(config, stages)
        }
    per_sub = dict(demo.read(wh_path, "select scope, count(*) from members group by 1"))
    forums = dict(demo.read(wh_path, "select scope, size from communities where level = 'forum'"))
    min_forum = config.communities.min_forum_members
    assert forums == {s: n for s, n in per_sub.items() if n >= min_forum} and forums
    counts = results["tasks"].details["per_task"]
    print(
        json.dumps(
            {
                "members": per_sub,
                "tasks": results["tasks"].details["per_level"],
                "levels": results["communities"].details["levels"],
            }
        )
    )
    assert all(counts[t] > 0 for t in ("pi", "dp", "ccg", "ci")), counts
    assert all(n > 0 for n in results["tasks"].details["per_level"]["forum"].values())
