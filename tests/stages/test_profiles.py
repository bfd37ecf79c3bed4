"""Stage ``profiles`` on the demo build: extractive offline, LLM-written through the real
``openai`` client against a loopback fake endpoint (tests/fakes/openai_server.py) named in the
environment, cached in the warehouse, and extractive again with the reason when the LLM fails."""

from __future__ import annotations

import json

import pytest

import warehouse
from communitybench.config import ProfilesConfig
from communitybench.settings import get_settings
from communitybench.stages.profiles import NO_ENDPOINT
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures import demo
from tests.fixtures.contracts import contract_violations
from transforms.profile_schema import PROFILE_SCHEMA, validate_profile
from transforms.profiles import PROFILES_VERSION


@pytest.fixture
def endpoint(monkeypatch):
    """Point the stage at a fake server through COMMUNITYBENCH_LLM_* (as a deployment would)."""

    def point_at(server: FakeOpenAI) -> None:
        monkeypatch.setenv("COMMUNITYBENCH_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("COMMUNITYBENCH_LLM_MODEL", "fake-model")
        monkeypatch.setenv("COMMUNITYBENCH_LLM_API_KEY", "k")
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()  # the next get_settings reads the restored environment


def _config(demo_build, **policy):
    """The demo build's config with a fast LLM call policy (no real waiting between retries)."""
    profiles = ProfilesConfig(**{"llm_backoff_s": 0.0, "llm_concurrency": 2, **policy})
    return demo_build.config.model_copy(update={"profiles": profiles})


def _profiles(wh) -> list[dict]:
    with warehouse.connect(wh, read_only=True) as con:
        return con.sql("select * from profiles order by community_id").pl().to_dicts()


def _cached(wh) -> int:
    with warehouse.connect(wh, read_only=True) as con:
        return warehouse.row_count(con, "llm_cache")


def _communities(demo_build) -> int:
    return demo.read(demo_build.warehouse, "select count(*) from communities")[0][0]


def test_offline_profiles_are_extractive_and_say_why(demo_build):
    result, n = demo_build.results["profiles"], _communities(demo_build)
    forums = {c["subreddit"] for c in demo_build.truth["communities"].values()}
    assert n == len(demo_build.truth["communities"]) + len(forums)  # subs and their forums
    assert result.version == PROFILES_VERSION
    assert result.work[0].unit == "profiles" and result.work[0].computed == n
    assert result.work[0].note == "extractive: no LLM endpoint configured"
    assert dict(result.rows) == {"profiles": n, "llm_cache": 0}
    assert result.notes == (f"profiles: {n} (extractive {n})", f"extractive because: {NO_ENDPOINT}")
    assert result.details["profile_method"] == {"extractive": n}
    assert result.details["fallback_reasons"] == [NO_ENDPOINT] and result.details["llm"] is None
    rows = _profiles(demo_build.warehouse)
    sizes = dict(demo.read(demo_build.warehouse, "select community_id, size from communities"))
    assert {r["community_id"]: r["n_members"] for r in rows} == sizes
    for row in rows:
        profile = json.loads(row["profile"])
        assert validate_profile({k: profile[k] for k in PROFILE_SCHEMA["required"]}) == []
        assert row["fallback_reason"] == NO_ENDPOINT and row["model"] is None
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        assert contract_violations(con, "profiles") == []


def test_representative_texts_come_from_the_community(demo_build):
    """Every representative text was written by a member of the community it describes."""
    written_by = demo.read(
        demo_build.warehouse,
        "select p.community_id, count(*), count(*) filter (where ms.community_id = p.community_id) "
        "from (select community_id, level, unnest(representative_ids) as item_id from profiles "
        "join communities using (community_id)) p "
        "join texts t using (item_id) join members m on m.author = t.author "
        "and m.scope = t.subreddit join memberships ms on ms.member_id = m.member_id "
        "and ms.scope = m.scope and ms.level = p.level group by 1",
    )
    per_community = demo_build.config.profiles.n_central + demo_build.config.profiles.n_diverse
    assert len(written_by) == _communities(demo_build)
    assert all(n == ok == per_community for _, n, ok in written_by)


def test_llm_profiles_land_and_a_rebuild_makes_zero_requests(demo_build, demo_copy, endpoint):
    n, config = _communities(demo_build), _config(demo_build)
    with FakeOpenAI() as server:
        endpoint(server)
        first = demo.run(demo_copy, config, "profiles")["profiles"]
        assert len(server.requests) == n
        second = demo.run(demo_copy, config, "profiles")["profiles"]
        assert len(server.requests) == n  # zero new requests: the warehouse cache answers
    assert first.details["profile_method"] == {"llm": n} and first.details["fallback_reasons"] == []
    stats = first.details["llm"]
    assert (stats["cache_hits"], stats["requests"], stats["failures"]) == (0, n, 0)
    assert stats["prompt_tokens"] == 100 * n and stats["completion_tokens"] > 0  # fake's usage
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    assert server.requests[0]["response_format"]["json_schema"]["schema"] == PROFILE_SCHEMA
    assert (first.work[0].unit, first.work[0].computed, first.work[0].reused) == (
        "llm_answers",
        n,
        0,
    )
    assert (second.work[0].computed, second.work[0].reused) == (0, n)
    # rows written: the second run adds nothing to the cache (it holds n answers all along)
    assert dict(first.rows) == {"profiles": n, "llm_cache": n}
    assert dict(second.rows) == {"profiles": n, "llm_cache": 0}
    assert second.details["llm"]["cache_hits"] == n and second.details["llm"]["requests"] == 0
    rows = _profiles(demo_copy)
    assert [r["profile_method"] for r in rows] == ["llm"] * n
    assert [r["model"] for r in rows] == ["fake-model"] * n
    for row in rows:
        profile = json.loads(row["profile"])
        assert validate_profile({k: profile[k] for k in PROFILE_SCHEMA["required"]}) == []
        assert row["fallback_reason"] is None and len(row["prompt_hash"]) == 64
    prompts = " ".join(m["content"] for r in server.requests for m in r["messages"]).lower()
    assert not [name for name in demo_build.truth["members"] if name.lower() in prompts]
    assert _cached(demo_copy) == n


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (500, "HTTP 500 InternalServerError"),
        (429, "HTTP 429 RateLimitError"),
        ("invalid_json", "InvalidAnswer: answer is not JSON"),
        ("schema_invalid", "InvalidAnswer: answer does not match the schema"),
    ],
)
def test_persistent_failures_fall_back_to_extractive_with_the_reason(
    demo_build, demo_copy, endpoint, failure, reason
):
    n = _communities(demo_build)
    with FakeOpenAI() as server:
        endpoint(server)
        server.fail_next = [failure] * (3 * n + 10)
        result = demo.run(demo_copy, _config(demo_build, llm_max_retries=2), "profiles")
        assert len(server.requests) == 3 * n  # 1 try + 2 retries each
    result = result["profiles"]
    rows = _profiles(demo_copy)
    assert [r["profile_method"] for r in rows] == ["extractive"] * n
    assert all(reason in r["fallback_reason"] for r in rows)
    assert all(r["fallback_reason"].endswith("(after 3 attempt(s))") for r in rows)
    assert result.details["llm"]["failures"] == n and result.details["profile_method"] == {
        "extractive": n
    }
    assert any(note.startswith("extractive because: " + reason) for note in result.notes)
    assert _cached(demo_copy) == 0  # failures are never cached


def test_server_rejecting_json_schema_gets_json_object(demo_build, demo_copy, endpoint):
    n = _communities(demo_build)
    with FakeOpenAI(reject_json_schema=True) as server:
        endpoint(server)
        result = demo.run(demo_copy, _config(demo_build, llm_concurrency=1), "profiles")
        formats = [r["response_format"]["type"] for r in server.requests]
    details = result["profiles"].details
    assert details["profile_method"] == {"llm": n}
    assert formats == ["json_schema"] + ["json_object"] * n  # negotiated once, then remembered
    assert server.requests[-1]["response_format"]["schema"] == PROFILE_SCHEMA
    assert details["llm"]["response_format"] == "json_object"
    assert details["llm"]["requests"] == n + 1 and details["llm"]["failures"] == 0
