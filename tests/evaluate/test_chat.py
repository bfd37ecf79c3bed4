"""The chat client's response-format negotiation against the fake OpenAI-compatible server."""

from __future__ import annotations

from communitybench.evaluate.chat import JSON_OBJECT, AnswerCache, ChatClient, ChatConfig
from tests.fakes.openai_server import FakeOpenAI

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
