"""The chat client against the fake OpenAI-compatible server: response-format negotiation, and an
endpoint that cannot be reached."""

from __future__ import annotations

from communitybench.evaluate.chat import JSON_OBJECT, AnswerCache, ChatClient, ChatConfig
from tests.fakes.openai_server import FakeOpenAI, dead_url

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}}


def test_a_500_naming_response_format_falls_back_to_json_object():
    """llama-cpp-python's server answers json_schema with a 500 naming response_format: the
    client switches to json_object at once instead of retrying the 500 as transient."""
    with FakeOpenAI(lambda body: {"answer": 2}, reject_json_schema=500) as fake:
        client = ChatClient(
            ChatConfig(base_url=fake.base_url, model="m", retries=0), AnswerCache(None)
        )
        result = client.ask([{"role": "user", "content": "pick"}], SCHEMA, lambda d: None)
        formats = [r["response_format"]["type"] for r in fake.requests]
    assert result["data"] == {"answer": 2} and result["error"] is None
    assert formats == ["json_schema", JSON_OBJECT]
    assert client.response_format == JSON_OBJECT


def test_a_plain_500_stays_an_error():
    with FakeOpenAI(lambda body: {"answer": 1}) as fake:
        fake.fail_next = [500]
        client = ChatClient(
            ChatConfig(base_url=fake.base_url, model="m", retries=0), AnswerCache(None)
        )
        result = client.ask([{"role": "user", "content": "pick"}], SCHEMA, lambda d: None)
    assert result["data"] is None and "request failed" in result["error"]


def test_an_unreachable_endpoint_is_given_up_after_two_connection_failures():
    config = ChatConfig(base_url=dead_url(), model="m", retries=0, concurrency=1)
    client = ChatClient(config, AnswerCache(None))
    items = [([{"role": "user", "content": f"q{i}"}], SCHEMA, lambda d: None) for i in range(5)]
    results = client.ask_many(items, progress=False, desc="dead")
    errors = [r["error"] for r in results]
    assert [e.startswith("request failed") for e in errors] == [True, True, False, False, False]
    assert errors[2:] == ["request not sent"] * 3
    assert client.requests == 2 and client.unreachable.startswith(config.base_url + " unreachable")
