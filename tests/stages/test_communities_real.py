"""Real text: the airline-subreddit sample (../shared) through ingest → staging → communities.

The sample is an API scrape with its own field names; ``airline_dumps`` (tests/fixtures/real.py)
adapts it to Pushshift NDJSON (the dump reader's input), so the real path from raw observations
onwards is exercised.
Skipped when the shared data is not there.
"""

from __future__ import annotations

import json
import warnings

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


def test_airline_sample_yields_communities_from_real_text(tmp_path, wh_path, real_key):
    folder = shared_path("reddit", "airline-subreddits-2024", "data")
    config = demo.config_for(airline_dumps(folder, tmp_path, SUBREDDITS), communities=COMMUNITIES)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # real data must not fall back to the dev key
        for stage in pipeline.select(config, ("ingest", "staging", *COMMUNITY_STAGES)):
            results[stage.name] = pipeline.execute(stage, config, wh_path)
    com = results["communities"].details
    print(json.dumps({k: com[k] for k in ("members", "communities", "noise_share", "scopes")}))
    embedded = results["embeddings"].counts("texts")
    assert embedded.computed == results["texts"].details["distinct"] > 1000
    assert embedded.reused == 0
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
            "  join home using (author) where ms.community_id is not null group by all"
            ") select community_id, any_value(c.size), sum(texts), max(n) / sum(n) "
            "from per_sub join communities as c using (community_id) group by community_id"
        ).fetchall()
    assert [m for _, m in ids] == pseudonymize([a for a, _ in ids], key=KEY)  # the secret key
    assert rows and all(size >= 10 and texts >= 3 * size for _, size, texts, _ in rows)
    # the communities are not arbitrary: one is mostly the regulars of a single airline
    assert max(share for *_, share in rows) >= 0.75, rows
