"""Stage ``members``: authors with enough embedded texts in a scope → keyed pseudonyms and the
mean of their text vectors.

Inputs are the session's demo build (texts and embeddings from the real stages); what a member
should be is derived here from those tables with plain SQL and numpy, and from the forum's
planted truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import warehouse
from communitybench import pipeline
from communitybench.config import UsageError
from communitybench.settings import DEV_PSEUDONYM_KEY, get_settings
from communitybench.stages import members
from tests.fixtures import demo
from tests.fixtures.communities import with_communities
from tests.fixtures.contracts import contract_violations
from transforms.members import MEMBERS_VERSION, pseudonymize
from transforms.vectors import vectors_from_arrow

# each authored text with a vector of the configured model, the members stage's input
EMBEDDED = (
    "select t.author, t.subreddit, t.item_id, e.vector from texts as t "
    "join embeddings as e using (text_hash) "
    "where t.author is not null and e.model = $model and e.revision = $revision"
)


def model(demo_build) -> dict[str, str]:
    """The configured model revision (the parameters of ``EMBEDDED``)."""
    embed = demo_build.config.embed
    return {"model": embed.model, "revision": embed.revision}


def expected(demo_build, scope: str) -> dict[tuple[str, str], int]:
    """(author, scope) → texts, for the pairs with at least ``min_texts`` embedded texts."""
    config = demo_build.config
    scope_of = "subreddit" if scope == "subreddit" else "'global'"
    rows = demo.read(
        demo_build.warehouse,
        f"select author, {scope_of}, count(*) from ({EMBEDDED}) group by all "
        "having count(*) >= $min_texts",
        {**model(demo_build), "min_texts": config.members.min_texts},
    )
    return {(author, s): n for author, s, n in rows}


def stored(wh) -> dict[tuple[str, str], tuple[str, int]]:
    rows = demo.read(wh, "select author, scope, member_id, n_texts from members")
    return {(author, scope): (member_id, n) for author, scope, member_id, n in rows}


@pytest.fixture
def no_key(monkeypatch):
    """No pseudonym key in the environment (settings re-read; restored afterwards)."""
    monkeypatch.delenv("COMMUNITYBENCH_PSEUDONYM_KEY", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_members_are_the_planted_authors_with_enough_texts(demo_build):
    wh, truth = demo_build.warehouse, demo_build.truth
    found = stored(wh)
    want = expected(demo_build, "subreddit")
    assert {k: n for k, (_, n) in found.items()} == want
    assert min(want.values()) >= demo_build.config.members.min_texts
    assert sorted(author for author, _ in found) == sorted(truth["members"])
    # the demo has no secret key: the public development key, keyed HMAC prefixes
    authors = [author for author, _ in found]
    ids = pseudonymize(authors, key=DEV_PSEUDONYM_KEY)
    assert [found[k][0] for k in found] == ids
    with warehouse.connect(wh, read_only=True) as con:
        assert contract_violations(con, "members") == []


def test_member_vector_is_the_mean_of_its_text_vectors(demo_build):
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        texts = con.sql(EMBEDDED, params=model(demo_build)).to_arrow_table()
        table = con.table("members").select("author, scope, vector").to_arrow_table()
    text_vectors = vectors_from_arrow(texts["vector"])
    by_author: dict[tuple[str, str], list[int]] = {}
    pairs = zip(texts["author"].to_pylist(), texts["subreddit"].to_pylist(), strict=True)
    for i, key in enumerate(pairs):
        by_author.setdefault(key, []).append(i)
    means = vectors_from_arrow(table["vector"])
    keys = zip(table["author"].to_pylist(), table["scope"].to_pylist(), strict=True)
    for key, vector in zip(keys, means, strict=True):
        np.testing.assert_allclose(vector, text_vectors[by_author[key]].mean(axis=0), atol=1e-6)
    assert means.shape == (len(table), 384) and means.dtype == np.float32


def test_small_stream_batches_give_the_same_members(demo_build, demo_copy, monkeypatch):
    """Vectors stream in batches: batches of 7 texts (every member's texts split across many)
    give the members and vectors of one batch holding everything."""
    query = "select member_id, scope, n_texts, vector from members order by scope, member_id"
    whole = demo.read(demo_build.warehouse, query)
    monkeypatch.setattr(members, "STREAM_ROWS", 7)
    demo.run(demo_copy, demo_build.config, "members")
    small = demo.read(demo_copy, query)
    assert [r[:3] for r in small] == [r[:3] for r in whole] and len(whole) > 100
    np.testing.assert_allclose([r[3] for r in small], [r[3] for r in whole], atol=1e-6)


def test_result_counts_members_and_authors_left_out(demo_build):
    config = demo_build.config
    [(authors,)] = demo.read(
        demo_build.warehouse,
        f"select count(distinct author) from ({EMBEDDED})",
        model(demo_build),
    )
    want = expected(demo_build, "subreddit")
    per_scope: dict[str, int] = {}
    for _, scope in want:
        per_scope[scope] = per_scope.get(scope, 0) + 1
    result = demo_build.results["members"]
    assert (result.name, result.version) == ("members", MEMBERS_VERSION)
    [work] = result.work
    assert (work.unit, work.computed, work.reused) == ("members", len(want), 0)
    assert work.note == f"scope subreddit, min_texts {config.members.min_texts}"
    assert dict(result.rows) == {"members": len(want)}
    assert dict(result.dropped) == {"too_few_texts": authors - len({a for a, _ in want})}
    [table] = result.tables
    assert table.rows == tuple(sorted(per_scope.items()))
    assert result.details["per_scope"] == per_scope and result.details["authors"] == authors


def test_global_scope_pools_every_subreddit(demo_build, demo_copy):
    config = with_communities(demo_build.config, scope="global")
    result = demo.run(demo_copy, config, "members")["members"]
    want = expected(demo_build, "global")
    assert {k: n for k, (_, n) in stored(demo_copy).items()} == want
    assert result.details["per_scope"] == {"global": len(want)}
    carried = pipeline.carry(members.STAGE, config, demo_copy, previous="v0001")
    assert [(w.unit, w.computed, w.reused) for w in carried.work] == [("members", 0, len(want))]


def test_the_demo_warns_about_the_public_development_key(demo_build, demo_copy, no_key):
    with pytest.warns(UserWarning, match="public development key"):
        pipeline.execute(members.STAGE, demo_build.config, demo_copy)


def test_real_data_needs_a_secret_key_and_uses_it(demo_build, demo_copy, no_key, monkeypatch):
    dumps = demo.config_for(demo.dump_files(demo_build.forum), members=demo_build.config.members)
    with pytest.raises(UsageError, match="COMMUNITYBENCH_PSEUDONYM_KEY is not set"):
        pipeline.execute(members.STAGE, dumps, demo_copy)
    monkeypatch.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", "test-key-for-real-data")
    get_settings.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback to the development key
        pipeline.execute(members.STAGE, dumps, demo_copy)
    found = stored(demo_copy)
    assert [found[k][0] for k in found] == pseudonymize(
        [author for author, _ in found], key="test-key-for-real-data"
    )
