"""The LLM client (``communitybench/inference/llm.py``) through the real ``openai`` client against
a loopback OpenAI-compatible server: retries and backoff (tenacity), Retry-After, which failures
are retried, json_schema → json_object negotiation, and the warehouse answer cache."""

from __future__ import annotations

import duckdb
import pytest

from communitybench.inference.llm import LLMClient, LLMConfig, ask_json
from tests.fakes.openai_server import FakeOpenAI
from transforms.profile_schema import PROFILE_SCHEMA, validate_profile
from transforms.profiles import build_profile_messages

MESSAGES = build_profile_messages(subreddit="x", texts=["t"], terms=[], max_text_chars=50)


def _config(server: FakeOpenAI, **over) -> LLMConfig:
    policy = {"model": "fake-model", "api_key": "k", "backoff_s": 0.0, "concurrency": 2, **over}
    return LLMConfig(base_url=server.base_url, **policy)


def _complete(server: FakeOpenAI, slept: list | None = None, **over):
    """One request through LLMClient.complete; sleeps are recorded, not slept."""
    client = LLMClient(_config(server, **over), sleep=(slept if slept is not None else []).append)
    request = {"messages": MESSAGES, "schema": PROFILE_SCHEMA, "temperature": 0.0, "max_tokens": 99}
    return client.complete(request, validate=validate_profile)


@pytest.mark.parametrize(
    "failures", [[500, 429, "invalid_json"], ["schema_invalid", 503], [502, 502, 502]]
)
def test_transient_failures_are_retried_then_succeed(failures):
    con = duckdb.connect()
    with FakeOpenAI() as server:
        server.fail_next = list(failures)
        results, stats = ask_json(
            con,
            _config(server, concurrency=1),
            [MESSAGES],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
        assert len(server.requests) == len(failures) + 1
    assert results[0].error is None and results[0].attempts == len(failures) + 1
    assert validate_profile(results[0].data) == []
    assert stats["requests"] == len(failures) + 1 and stats["failures"] == 0
    assert con.execute("select count(*) from llm_cache").fetchall() == [(1,)]


def test_backoff_is_exponential_and_capped():
    slept = []
    with FakeOpenAI() as server:
        server.fail_next = [500, 500, 500, 500, 500]
        result = _complete(server, slept, backoff_s=1.0, backoff_max_s=3.0, max_retries=3)
        assert len(server.requests) == 4
    assert slept == [1.0, 2.0, 3.0]  # 1 * 2**(n-1) after the n-th failure, capped at 3
    assert result.data is None and result.attempts == 4
    assert result.error == "HTTP 500 InternalServerError (after 4 attempt(s))"


def test_retry_after_is_honoured_up_to_the_cap():
    slept = []
    with FakeOpenAI() as server:
        server.fail_next = [(429, {"retry-after": "2.5"}), (429, {"retry-after": "600"}), 500]
        result = _complete(server, slept, backoff_s=0.5, backoff_max_s=8.0, max_retries=3)
    # max(0.5, 2.5); max(1.0, 600) capped at 8; 2.0 (a 500 has no Retry-After)
    assert slept == [2.5, 8.0, 2.0]
    assert result.error is None and result.attempts == 4


@pytest.mark.parametrize(("status", "name"), [(401, "AuthenticationError"), (404, "NotFoundError")])
def test_client_errors_are_not_retried(status, name):
    slept = []
    with FakeOpenAI() as server:
        server.fail_next = [status]
        result = _complete(server, slept, max_retries=3)
        assert len(server.requests) == 1
    assert slept == [] and result.data is None
    assert result.error == f"HTTP {status} {name} (after 1 attempt(s))"


def test_json_schema_rejection_is_negotiated_not_a_failure():
    with FakeOpenAI(reject_json_schema=True) as server:
        result = _complete(server, max_retries=0)  # no retry left: negotiation is not one
        formats = [r["response_format"]["type"] for r in server.requests]
        hint = server.requests[-1]["messages"][-1]
    assert formats == ["json_schema", "json_object"]
    assert result.error is None and result.attempts == 2 and result.response_format == "json_object"
    assert hint["role"] == "system" and '"common_identity"' in hint["content"]


def test_a_400_to_json_object_is_not_retried():
    with FakeOpenAI(reject_json_schema=True) as server:
        server.fail_next = [None, 400]  # json_schema rejected as usual, then a real 400
        result = _complete(server, max_retries=3)
        assert len(server.requests) == 2
    assert result.error == "HTTP 400 BadRequestError (after 2 attempt(s))"


def test_identical_prompts_are_paid_once_and_models_are_cached_apart():
    con = duckdb.connect()
    with FakeOpenAI() as server:
        results, stats = ask_json(
            con,
            _config(server),
            [MESSAGES, MESSAGES],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
        assert len(server.requests) == 1 and results[0].data == results[1].data
        assert stats["requests"] == 1 and stats["cache_hits"] == 0
        again, stats = ask_json(
            con, _config(server), [MESSAGES], schema=PROFILE_SCHEMA, validate=validate_profile
        )
        assert len(server.requests) == 1 and again[0].cached and stats["cache_hits"] == 1
        ask_json(
            con,
            _config(server, model="other-model"),
            [MESSAGES],
            schema=PROFILE_SCHEMA,
            validate=validate_profile,
        )
        assert len(server.requests) == 2
    rows = con.execute("select model, prompt_tokens from llm_cache order by model").fetchall()
    assert rows == [("fake-model", 100), ("other-model", 100)]
