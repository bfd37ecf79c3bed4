"""JSON answers from an OpenAI-compatible chat endpoint, cached in a JSONL file, resumable.

Used by the model runner (``evaluate --model``) and the CCG judge. A request asks for
structured output (``json_schema``; a server that rejects it, like llama.cpp's, is asked with
``{"type": "json_object", "schema": ...}``). An answer that is not valid JSON, or fails the
caller's check, gets one repair turn (the model sees its answer and what was wrong); transport
failures (429, 5xx, timeouts) are retried with backoff. Every settled answer — valid or not — is
appended to the cache file at once, so an interrupted run resumes where it stopped and a rerun
asks nothing twice; transport failures are not cached. An endpoint that cannot be reached
(``unreachable_after`` connection failures in a row, none answered in between) stops the run:
later requests are not sent, and the runner raises `EndpointUnreachable` instead of spending
the retry backoff on every instance.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import openai
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from tqdm import tqdm

JSON_SCHEMA, JSON_OBJECT = "json_schema", "json_object"
_TRANSIENT = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
REPAIR = (
    "Your answer could not be used: {problem}. Reply again with only the JSON object, "
    "nothing else, following this JSON schema: {schema}"
)


@dataclass(frozen=True)
class ChatConfig:
    base_url: str
    model: str
    api_key: str = "not-needed"
    temperature: float = 0.0
    max_tokens: int = 400
    concurrency: int = 4
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    unreachable_after: int = 2  # connection failures in a row (each after its retries)


class AnswerCache:
    """Settled answers keyed by request hash, in a JSONL file appended line by line."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self.answers: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: that request is asked again
                self.answers[record["key"]] = record

    def get(self, key: str) -> dict | None:
        return self.answers.get(key)

    def put(self, record: dict) -> None:
        with self._lock:
            self.answers[record["key"]] = record
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def request_key(model: str, messages: list[dict], schema: dict, max_tokens: int) -> str:
    blob = json.dumps([model, messages, schema, max_tokens], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class ChatClient:
    """Strict JSON answers with one repair turn, a concurrency limit and a file cache."""

    def __init__(self, config: ChatConfig, cache: AnswerCache):
        self.config, self.cache = config, cache
        self.response_format = JSON_SCHEMA
        self.requests = 0
        self.unreachable: str | None = None  # why the endpoint was given up, once it was
        self._connection_failures = 0
        self._state = threading.Lock()
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            max_retries=0,
            timeout=config.timeout_s,
        )

    def ask(self, messages: list[dict], schema: dict, check: Callable[[dict], str | None]) -> dict:
        """``{"key", "data", "error", "repaired", "raw"}`` for one conversation."""
        key = request_key(self.config.model, messages, schema, self.config.max_tokens)
        if (hit := self.cache.get(key)) is not None:
            return {**hit, "cached": True}
        if self.unreachable:
            return {"key": key, "data": None, "error": "request not sent", "cached": False}
        try:
            raw = self._complete(messages, schema)
            data, problem = _parse(raw, check)
            repaired = False
            if problem:
                repaired = True
                follow_up = REPAIR.format(problem=problem, schema=json.dumps(schema))
                turn = [
                    {"role": "assistant", "content": raw},
                    {"role": "user", "content": follow_up},
                ]
                raw = self._complete([*messages, *turn], schema)
                data, problem = _parse(raw, check)
        except (*_TRANSIENT, openai.APIStatusError) as exc:
            self._count_failure(exc)
            return {"key": key, "data": None, "error": f"request failed: {exc}", "cached": False}
        with self._state:
            self._connection_failures = 0
        record = {"key": key, "data": data, "error": problem, "repaired": repaired, "raw": raw}
        self.cache.put(record)
        return {**record, "cached": False}

    def _count_failure(self, exc: Exception) -> None:
        with self._state:
            if not isinstance(exc, openai.APIConnectionError):
                self._connection_failures = 0  # it answered, if with an error
                return
            self._connection_failures += 1
            if self._connection_failures >= self.config.unreachable_after:
                self.unreachable = self.unreachable or (
                    f"{self.config.base_url} unreachable: {self._connection_failures} requests "
                    f"in a row failed to connect ({exc}; {self.config.retries} retries each)"
                )

    def ask_many(
        self, items: list[tuple[list[dict], dict, Callable]], *, progress: bool, desc: str
    ) -> list[dict]:
        """`ask` for many conversations, at most ``concurrency`` in flight, results in order."""
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            mapped = pool.map(lambda item: self.ask(*item), items)
            return list(tqdm(mapped, total=len(items), desc=desc, disable=not progress))

    def _complete(self, messages: list[dict], schema: dict) -> str:
        retrying = Retrying(
            stop=stop_after_attempt(self.config.retries + 1),
            wait=wait_exponential(multiplier=self.config.backoff_s, max=30),
            retry=retry_if_exception_type(_TRANSIENT),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._negotiated(messages, schema)
        raise AssertionError("unreachable")

    def _negotiated(self, messages: list[dict], schema: dict) -> str:
        while True:
            fmt = self.response_format
            try:
                return self._create(messages, schema, fmt)
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                if fmt != JSON_SCHEMA:
                    raise
                self.response_format = JSON_OBJECT
            except openai.InternalServerError as error:
                # llama-cpp-python's server answers an unknown response_format with a 500 that
                # names it (a validation error), not a 400: that is "unsupported", not transient
                if fmt != JSON_SCHEMA or "response_format" not in str(error):
                    raise
                self.response_format = JSON_OBJECT

    def _create(self, messages: list[dict], schema: dict, fmt: str) -> str:
        if fmt == JSON_SCHEMA:
            response_format = {
                "type": JSON_SCHEMA,
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        else:
            response_format = {"type": JSON_OBJECT, "schema": schema}
        self.requests += 1
        response = self._client.chat.completions.create(
            model=self.config.model,
            messages=messages,
            response_format=response_format,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
        )
        return (response.choices[0].message.content if response.choices else None) or ""


def _parse(raw: str, check: Callable[[dict], str | None]) -> tuple[dict | None, str | None]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg})"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    problem = check(data)
    return (None, problem) if problem else (data, None)
