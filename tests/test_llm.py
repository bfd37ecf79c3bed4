"""The LLM client against a loopback OpenAI-compatible server (the real `openai` client).

Checks: schema-valid profiles land, a rebuild makes zero requests (warehouse cache), 500/429/
invalid JSON are retried with backoff and then fall back with the reason recorded, and a server
that rejects json_schema is asked again with json_object.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

import warehouse
from communitybench import tasks as stage
from communitybench.inference.llm import LLMClient, LLMConfig, ask_json
from tests.fakes.openai_server import FakeOpenAI
from tests.test_tasks_demo import EMBED_MODEL, EMBED_REVISION, build_demo
from transforms.profiles import PROFILE_SCHEMA, build_profile_messages, validate_profile

PROFILE_KWARGS = {
    "scope": "subreddit",
    "embed_model": EMBED_MODEL,
    "embed_revision": EMBED_REVISION,
    "max_text_chars": 300,
    "n_terms": 8,
    "max_tone_texts": 500,
    "n_central": 4,
    "n_diverse": 2,
    "n_quotes": 2,
}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """A small demo warehouse (~10 communities) with test marts; copied per test."""
    wh, truth = build_demo(tmp_path_factory.mktemp("llm"), seed=3, scale=0.2)
    return wh, truth


@pytest.fixture
def wh(small_demo, tmp_path):
    path = tmp_path / "wh.duckdb"
    shutil.copy(small_demo[0], path)
    return path


def _config(server: FakeOpenAI, **over) -> LLMConfig:
    return LLMConfig(
        **{
            "base_url": server.base_url,
            "model": "fake-model",
            "api_key": "k",
            "backoff_s": 0.0,
            "concurrency": 2,
            **over,
        }
    )


def _profiles(wh):
    with warehouse.connect(wh, read_only=True) as con:
        return con.sql("select * from profiles order by community_id").pl()


def test_profiles_land_and_a_rebuild_makes_zero_requests(wh, small_demo):
    with FakeOpenAI() as server:
        first = stage.run_profiles(wh, llm=_config(server), **PROFILE_KWARGS)
        n = first["communities"]
        assert n == len(small_demo[1]["communities"]) and len(server.requests) == n
        assert first["profile_method"] == {"llm": n} and first["fallback_reasons"] == []
        assert first["llm"]["cache_hits"] == 0 and first["llm"]["requests"] == n
        assert first["llm"]["prompt_tokens"] == 100 * n and first["llm"]["completion_tokens"] > 0
        assert server.requests[0]["response_format"]["type"] == "json_schema"
        second = stage.run_profiles(wh, llm=_config(server), **PROFILE_KWARGS)
        assert len(server.requests) == n  # zero new requests
        assert second["llm"]["cache_hits"] == n and second["llm"]["requests"] == 0
    rows = _profiles(wh)
    assert rows["profile_method"].to_list() == ["llm"] * n
    assert rows["model"].to_list() == ["fake-model"] * n
    for profile in rows["profile"].to_list():
        data = json.loads(profile)
        assert validate_profile({k: data[k] for k in PROFILE_SCHEMA["required"]}) == []
    members = small_demo[1]["members"]
    sample = " ".join(r["content"] for r in server.requests[0]["messages"]).lower()
    assert not [m for m in members if m.lower() in sample]  # prompts carry no usernames
    with warehouse.connect(wh, read_only=True) as con:
        assert con.execute("select count(*) from llm_cache").fetchall() == [(n,)]


@pytest.mark.parametrize("failures", [[500, 429, "invalid_json"], ["schema_invalid", 503]])
def test_transient_failures_are_retried(failures):
    con = duckdb.connect()
    with FakeOpenAI() as server:
        server.fail_next = list(failures)
        messages = build_profile_messages(subreddit="x", texts=["t"], terms=[], max_text_chars=50)
        results, stats = ask_json(
            con,
            _config(server, concurrency=1),
            [messages],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
    assert results[0].error is None and results[0].attempts == len(failures) + 1
    assert stats["requests"] == len(failures) + 1 and stats["failures"] == 0
    assert con.execute("select count(*) from llm_cache").fetchall() == [(1,)]


def test_backoff_is_exponential_and_capped():
    slept = []
    with FakeOpenAI() as server:
        server.fail_next = [500, 500, 500, 500]
        config = _config(server, backoff_s=1.0, backoff_max_s=3.0, max_retries=3)
        client = LLMClient(config, sleep=slept.append)
        messages = build_profile_messages(subreddit="x", texts=["t"], terms=[], max_text_chars=50)
        result = client.complete(
            {"messages": messages, "schema": PROFILE_SCHEMA, "temperature": 0.0, "max_tokens": 100},
            validate=validate_profile,
        )
    assert slept == [1.0, 2.0, 3.0]
    assert result.data is None
    assert result.error == "HTTP 500 InternalServerError (after 4 attempt(s))"


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (500, "HTTP 500 InternalServerError"),
        (429, "HTTP 429 RateLimitError"),
        ("invalid_json", "answer is not JSON"),
    ],
)
def test_persistent_failures_fall_back_to_extractive_with_the_reason(wh, failure, reason):
    with FakeOpenAI() as server:
        server.fail_next = [failure] * 200
        summary = stage.run_profiles(wh, llm=_config(server, max_retries=2), **PROFILE_KWARGS)
        assert len(server.requests) == 3 * summary["communities"]  # 1 try + 2 retries each
    rows = _profiles(wh)
    assert rows["profile_method"].to_list() == ["extractive"] * rows.height
    assert all(reason in r and "after 3 attempt(s)" in r for r in rows["fallback_reason"])
    assert summary["llm"]["failures"] == rows.height
    with warehouse.connect(wh, read_only=True) as con:  # failures are never cached
        assert con.execute("select count(*) from llm_cache").fetchall() == [(0,)]


def test_server_rejecting_json_schema_gets_json_object(wh):
    with FakeOpenAI(reject_json_schema=True) as server:
        summary = stage.run_profiles(wh, llm=_config(server, concurrency=1), **PROFILE_KWARGS)
        formats = [r["response_format"]["type"] for r in server.requests]
    assert summary["profile_method"] == {"llm": summary["communities"]}
    assert formats[0] == "json_schema" and set(formats[1:]) == {"json_object"}
    assert server.requests[-1]["response_format"]["schema"] == PROFILE_SCHEMA
    assert summary["llm"]["response_format"] == "json_object"


def test_no_endpoint_means_extractive_profiles_with_the_reason(wh):
    summary = stage.run_profiles(wh, llm=None, no_llm_reason="no endpoint", **PROFILE_KWARGS)
    assert summary["profile_method"] == {"extractive": summary["communities"]}
    assert summary["fallback_reasons"] == ["no endpoint"] and summary["llm"] is None


def test_identical_prompts_are_paid_once_and_models_are_cached_apart():
    con = duckdb.connect()
    messages = build_profile_messages(subreddit="x", texts=["t"], terms=[], max_text_chars=50)
    with FakeOpenAI() as server:
        results, _ = ask_json(
            con,
            _config(server),
            [messages, messages],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
        assert len(server.requests) == 1 and results[0].data == results[1].data
        ask_json(
            con,
            _config(server, model="other-model"),
            [messages],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
        assert len(server.requests) == 2
    rows = con.execute("select model, prompt_tokens from llm_cache order by model").fetchall()
    assert rows == [("fake-model", 100), ("other-model", 100)]
