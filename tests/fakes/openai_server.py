"""A loopback OpenAI-compatible server for tests: the real `openai` client talks to it.

Only ``POST /v1/chat/completions`` is served. Every request body is recorded. A test scripts
failures with ``fail_next`` (HTTP statuses, optionally with headers such as Retry-After, or
"invalid_json" / "schema_invalid" answers) and can
make the server reject ``response_format={"type": "json_schema"}`` the way llama.cpp's server
does, so the client's fallback to ``json_object`` is exercised.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def profile_answer(request: dict) -> dict:
    """A schema-valid community profile that echoes the prompt's subreddit."""
    prompt = " ".join(m.get("content", "") for m in request.get("messages", []))
    sub = (re.search(r"Subreddit: r/(\S+)", prompt) or [None, "unknown"])[1]
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:6]
    return {
        "common_identity": {
            "shared_values": f"practical advice valued in r/{sub}",
            "worldview": "careful, experience-driven",
            "collective_identity": f"regulars of r/{sub} (sample {tag})",
        },
        "common_bond": {
            "tone_and_stances": "friendly and direct",
            "interaction_style": "answers questions with concrete steps",
            "bonding_dynamics": "members build on each other's tips",
        },
        "summary": f"Hands-on members of r/{sub} who trade concrete tips.",
    }


class FakeOpenAI:
    """Serve chat completions on 127.0.0.1 (a free port) from a background thread.

    Attributes:
        requests: Every request body received, in order (failed ones included).
        fail_next: Outcomes for the next requests, consumed first: an HTTP status (429, 500,
            ...), a (status, headers) pair, or "invalid_json" / "schema_invalid" for a 200
            whose content is unusable.
        reject_json_schema: Answer 400 to requests asking for ``json_schema`` output; an int is
            the status to answer with instead (llama-cpp-python's server answers 500, naming
            the ``response_format`` field).
    """

    def __init__(self, answer=profile_answer, *, reject_json_schema: bool | int = False):
        self.answer = answer
        self.reject_json_schema = reject_json_schema
        self.requests: list[dict] = []
        self.fail_next: list[int | str | tuple[int, dict]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def respond(self, body: dict) -> tuple[int, dict, dict]:
        """Status, JSON and extra headers for one request body."""
        with self._lock:
            self.requests.append(body)
            outcome = self.fail_next.pop(0) if self.fail_next else None
        fmt = (body.get("response_format") or {}).get("type")
        if isinstance(outcome, int):
            outcome = (outcome, {})
        if isinstance(outcome, tuple):
            status, headers = outcome
            error = {"message": f"scripted {status}", "type": "server_error"}
            return status, {"error": error}, headers
        if self.reject_json_schema and fmt == "json_schema":
            if self.reject_json_schema is True:
                message = "response_format type json_schema is not supported; use json_object"
                return 400, {"error": {"message": message, "type": "invalid_request_error"}}, {}
            message = (  # what llama-cpp-python 0.3.36's server says, with its status
                "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]"
            )
            return self.reject_json_schema, {"error": {"message": message}}, {}
        content = json.dumps(self.answer(body))
        if outcome == "invalid_json":
            content = content[: len(content) // 2]
        elif outcome == "schema_invalid":
            content = json.dumps({"summary": 42})
        return 200, _completion(body.get("model", "fake"), content), {}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": f"no route {self.path}"}}
                    headers = {}
                else:
                    status, payload, headers = fake.respond(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler


def dead_url() -> str:
    """An OpenAI-compatible base URL on a local port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _completion(model: str, content: str) -> dict:
    prompt_tokens, completion_tokens = 100, max(1, len(content) // 4)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def eval_answer(instances: dict[str, list[dict]], *, out_of_range: set[str] = frozenset()):
    """Deterministic answers to the release's evaluation prompts, found by the instance's query
    and options in the prompt: PI the longest reply (first on ties), DP uniform, CI candidate 0,
    CCG the community's first reference; the judge always says "A". PI instances whose id is in
    ``out_of_range`` get index k (invalid, also after the repair turn)."""

    def find(task: str, prompt: str) -> dict:
        for row in instances[task]:
            if row["query_title"] in prompt and all(t in prompt for t in row["option_texts"]):
                return row
        raise KeyError(f"no {task} instance matches the prompt")

    def answer(request: dict) -> dict:
        prompt = request["messages"][0]["content"]
        if prompt.startswith("Task: judge"):
            return {"winner": "A"}
        if prompt.startswith("Task: preference identification"):
            row = find("pi", prompt)
            if row["instance_id"] in out_of_range:
                return {"answer": row["k"]}
            lengths = [len(t) for t in row["option_texts"]]
            return {"answer": lengths.index(max(lengths))}
        if prompt.startswith("Task: preference distribution"):
            k = find("dp", prompt)["k"]
            return {"distribution": [1 / k] * k}
        if prompt.startswith("Task: community identification"):
            return {"answer": 0}
        if prompt.startswith("Task: community-consistent generation"):
            for row in instances["ccg"]:
                if row["query_title"] in prompt:
                    return {"reply": row["reference_texts"][0]}
        return profile_answer(request)

    return answer
