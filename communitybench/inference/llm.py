"""A small JSON-answering client for any OpenAI-compatible endpoint, with a warehouse cache.

Requests ask for structured output with a JSON schema (``response_format`` json_schema); a server
that rejects that (llama.cpp's server does) is asked again with ``{"type": "json_object",
"schema": ...}`` and the schema in the prompt. Failures (HTTP 429/5xx, timeouts, connection
errors, answers that are not schema-valid JSON) are retried by tenacity with exponential
backoff; after the last attempt the result carries the reason, and callers fall back. A thread
pool bounds the number of requests in flight. Answers are cached in ``llm_cache`` keyed by
(model, prompt hash): lookups and writes happen in the caller's thread, so only one thread
touches DuckDB.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tqdm import tqdm

import schemas

JSON_SCHEMA, JSON_OBJECT = "json_schema", "json_object"


@dataclass(frozen=True)
class LLMConfig:
    """Endpoint and call policy; the endpoint comes from settings, the policy from the config."""

    base_url: str
    model: str
    api_key: str = field(default="not-needed", repr=False)  # never printed or logged
    temperature: float = 0.0
    max_tokens: int = 700
    max_retries: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    timeout_s: float = 60.0
    concurrency: int = 4


@dataclass
class LLMResult:
    """One answer (``data``) or the reason there is none (``error``)."""

    prompt_hash: str
    data: dict | None = None
    error: str | None = None
    cached: bool = False
    attempts: int = 0
    response_format: str = JSON_SCHEMA
    prompt_tokens: int = 0
    completion_tokens: int = 0
    request: dict = field(default_factory=dict)


class InvalidAnswer(ValueError):
    """The endpoint answered, but not with JSON that passes the validator."""


def _retryable() -> tuple[type[Exception], ...]:
    """Transient failures, retried with backoff (APITimeoutError is an APIConnectionError).

    openai is imported here, not at module level: it takes ~1 s to import, and every CLI
    command (``communitybench ingest`` included) imports the stage list."""
    import openai

    return (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APIConnectionError,
        InvalidAnswer,
    )


def canonical_request(
    *, model: str, messages: list[dict], schema: dict, temperature: float, max_tokens: int
) -> dict:
    """The request as cached and hashed (endpoint-independent)."""
    return {
        "model": model,
        "messages": messages,
        "schema": schema,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }


def prompt_hash(request: dict) -> str:
    """sha256 of the canonical JSON of a request."""
    blob = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_lookup(con: duckdb.DuckDBPyConnection, model: str, hashes: list[str]) -> dict:
    """Cached answers for these prompt hashes: {hash: response dict}."""
    if not hashes:
        return {}
    rows = con.execute(
        "select prompt_hash, response from llm_cache where model = ? and "
        "list_contains(?, prompt_hash)",
        [model, list(hashes)],
    ).fetchall()
    return {h: json.loads(r) for h, r in rows}


def cache_store(con: duckdb.DuckDBPyConnection, model: str, results: list[LLMResult]) -> int:
    """Insert the successful, not-yet-cached answers; return how many rows were written."""
    fresh = [r for r in results if r.data is not None and not r.cached]
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "model": model,
            "prompt_hash": r.prompt_hash,
            "request": json.dumps(r.request),
            "response": json.dumps(r.data),
            "response_format": r.response_format,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "created_at": now,
        }
        for r in fresh
    ]
    schema = schemas.arrow_schema(schemas.load_schema("llm_cache"))
    con.register("_llm_fresh", pa.Table.from_pylist(rows, schema=schema))
    try:  # a prompt another run cached meanwhile keeps its first answer
        con.execute(
            "insert into llm_cache by name "
            "select * from _llm_fresh anti join llm_cache using (model, prompt_hash)"
        )
    finally:
        con.unregister("_llm_fresh")
    return len(fresh)


class LLMClient:
    """JSON answers from an OpenAI-compatible endpoint with retries and a concurrency limit.

    Retries are tenacity's: up to ``max_retries`` after the first attempt, waiting
    ``backoff_s * 2**(n-1)`` after the n-th failure (at least a 429's Retry-After), capped at
    ``backoff_max_s``. Only transient failures are retried (429, 5xx, timeouts, connection
    errors, invalid answers); other 4xx fail at once. A server that rejects json_schema is
    asked again with json_object inside the same attempt: negotiation, not a failure.
    """

    def __init__(self, config: LLMConfig, *, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.response_format = JSON_SCHEMA
        self._sleep = sleep
        self._exponential = wait_exponential(
            multiplier=config.backoff_s, exp_base=2, max=config.backoff_max_s
        )
        import openai

        # retries are ours (they also cover invalid answers), so the SDK's are off
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            max_retries=0,
            timeout=config.timeout_s,
        )

    def complete(self, request: dict, *, validate: Callable[[object], list[str]]) -> LLMResult:
        """One request, retried; the result holds the answer or the last failure's reason."""
        import openai

        result = LLMResult(prompt_hash=prompt_hash(request), request=request)
        retryable = _retryable()
        retrying = Retrying(
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    result.data = self._negotiated(request, validate, result)
        except (*retryable, openai.APIStatusError) as exc:  # 401/403/404...: retrying can't help
            result.error = f"{_reason(exc)} (after {result.attempts} attempt(s))"
        return result

    def complete_many(
        self, requests: list[dict], *, validate, progress: bool = False
    ) -> list[LLMResult]:
        """`complete` for many requests, at most ``concurrency`` in flight, results in order."""
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            mapped = pool.map(lambda r: self.complete(r, validate=validate), requests)
            return list(tqdm(mapped, total=len(requests), desc="llm", disable=not progress))

    def _negotiated(self, request: dict, validate, result: LLMResult) -> dict:
        """One attempt; a 400/422 to json_schema switches to json_object and asks again."""
        import openai

        while True:
            result.attempts += 1  # every HTTP request counts
            result.response_format = fmt = self.response_format
            try:
                return self._answer(request, validate, result)
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                if fmt != JSON_SCHEMA:
                    raise
                self.response_format = JSON_OBJECT

    def _answer(self, request: dict, validate, result: LLMResult) -> dict:
        messages, schema = request["messages"], request["schema"]
        if result.response_format == JSON_SCHEMA:
            fmt = {
                "type": JSON_SCHEMA,
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        else:
            fmt = {"type": JSON_OBJECT, "schema": schema}
            hint = {
                "role": "system",
                "content": "Answer with one JSON object matching this "
                f"JSON schema: {json.dumps(schema)}",
            }
            messages = [*messages, hint]
        response = self._client.chat.completions.create(
            model=self.config.model,
            messages=messages,
            response_format=fmt,
            temperature=request["temperature"],
            max_tokens=request["max_tokens"],
        )
        if response.usage is not None:
            result.prompt_tokens += response.usage.prompt_tokens or 0
            result.completion_tokens += response.usage.completion_tokens or 0
        content = response.choices[0].message.content if response.choices else None
        try:
            data = json.loads(content or "")
        except json.JSONDecodeError as exc:
            raise InvalidAnswer(f"answer is not JSON ({exc.msg})") from None
        problems = validate(data)
        if problems:
            raise InvalidAnswer("answer does not match the schema: " + "; ".join(problems[:3]))
        return data

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff after the n-th failed attempt, at least its Retry-After, capped."""
        response = getattr(state.outcome.exception(), "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        delay = self._exponential(state)
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, float(retry_after))
        return min(delay, self.config.backoff_max_s)


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    return f"HTTP {status} {name}" if status else f"{name}: {exc}"


def ask_json(
    con: duckdb.DuckDBPyConnection,
    config: LLMConfig,
    conversations: list[list[dict]],
    *,
    schema: dict,
    validate,
    progress: bool = False,
) -> tuple[list[LLMResult], dict]:
    """JSON answers for many conversations: cache hits first, the rest from the endpoint.

    Args:
        con: The warehouse (``llm_cache`` is created if missing and never replaced).
        config: Endpoint and call policy.
        conversations: Chat messages per request.
        schema: JSON schema every answer must follow.
        validate: Returns the problems of a parsed answer (empty = valid).
        progress: Show a progress bar over the requests.

    Returns:
        Results in request order, and accounting: cache_hits, requests (HTTP requests made),
        failures, prompt_tokens, completion_tokens, response_format.
    """
    con.execute(schemas.ddl(schemas.load_schema("llm_cache")))
    client, model = LLMClient(config), config.model
    requests = [
        canonical_request(
            model=model,
            messages=messages,
            schema=schema,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
        )
        for messages in conversations
    ]
    hashes = [prompt_hash(r) for r in requests]
    cached = cache_lookup(con, model, hashes)
    misses = list({h: r for r, h in zip(requests, hashes, strict=True) if h not in cached}.values())
    fresh: dict[str, LLMResult] = {}
    step = max(
        16, 4 * config.concurrency
    )  # answers are cached chunk by chunk: a crash loses little
    with tqdm(total=len(misses), desc="llm", disable=not progress) as bar:
        for start in range(0, len(misses), step):
            chunk = client.complete_many(misses[start : start + step], validate=validate)
            cache_store(con, model, chunk)
            fresh.update((r.prompt_hash, r) for r in chunk)
            bar.update(len(chunk))
    results = [
        LLMResult(prompt_hash=h, data=cached[h], cached=True, request=r)
        if h in cached
        else fresh[h]
        for r, h in zip(requests, hashes, strict=True)
    ]
    stats = {
        "model": model,
        "cache_hits": sum(r.cached for r in results),
        "requests": sum(r.attempts for r in fresh.values()),
        "failures": sum(r.error is not None for r in fresh.values()),
        "prompt_tokens": sum(r.prompt_tokens for r in fresh.values()),
        "completion_tokens": sum(r.completion_tokens for r in fresh.values()),
        "response_format": client.response_format,
    }
    return results, stats
