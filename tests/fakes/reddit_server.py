"""A loopback Reddit API that replays recorded real traffic (praw's betamax cassettes).

What it answers:

- the token endpoint, with the recorded token body (the Basic auth header it receives is kept in
  ``token_auth`` so tests can check which credentials the client sent);
- any request whose method, path, query and form body match a recorded interaction (host
  independent; paths compare case-insensitively without trailing slashes; query and form fields
  compare as sorted pairs), with the recorded status and body;
- subreddit listings for a ``world`` (subreddit -> recorded submission ids): ``/r/<sub>/new`` (by
  created_utc), ``top`` / ``hot`` (by score), paged ``page_size`` at a time with ``after`` cursors;
- everything else: 404 with Reddit's JSON error body.

Faults: with probability ``fault_rate`` a response is replaced by one of ``fault_kinds``: ``429``
(with ``Retry-After``), ``500``, ``drop`` (connection closed without a response), ``truncate``
(a cut JSON body, either with a matching or an overstated Content-Length) or ``stall`` (answer
after ``stall_s``, for client timeouts); ``script`` lists faults for the next requests, in order,
and paths in ``always_fail`` always get a 500.
``arm(predicate, hook)`` calls a hook once (e.g. SIGKILL the client) when a request matching
``predicate(method, path)`` arrives.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

TOKEN_PATH = "/api/v1/access_token"
MORE_PATH = "/api/morechildren"
NOT_FOUND = json.dumps({"message": "Not Found", "error": 404}).encode()
FAULT_KINDS = ("429", "500", "drop", "truncate")

Key = tuple[str, str, tuple, tuple]


def request_key(method: str, path: str, query: str, body: str) -> Key:
    """Normalised identity of a request (what replay matching compares)."""
    norm_path = "/" + path.strip("/").lower()
    pairs = tuple(sorted(parse_qsl(query, keep_blank_values=True)))
    form = tuple(sorted(parse_qsl(body, keep_blank_values=True))) if method == "POST" else ()
    return (method.upper(), norm_path, pairs, form)


@dataclass
class Recordings:
    """Everything the cassettes hold, indexed for replay."""

    exact: dict[Key, tuple[int, bytes]] = field(default_factory=dict)
    token: bytes = b'{"access_token": "<ACCESS_TOKEN>", "token_type": "bearer", "expires_in": 3600}'
    submissions: dict[str, dict] = field(default_factory=dict)
    threads: set[str] = field(default_factory=set)


def load_recordings(folder: Path) -> Recordings:
    """Index every interaction of every cassette in ``folder``."""
    rec = Recordings()
    for path in sorted(Path(folder).glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
            _index_interaction(rec, item["request"], item["response"])
    return rec


def _index_interaction(rec: Recordings, request: dict, response: dict) -> None:
    body = request.get("body") or ""
    body = body.get("string", "") if isinstance(body, dict) else body
    parts = urlsplit(request["uri"])
    text = response["body"]["string"]
    if parts.path.rstrip("/") == TOKEN_PATH:
        rec.token = text.encode()
        return
    key = request_key(request["method"], parts.path, parts.query, body)
    rec.exact[key] = (response["status"]["code"], text.encode())
    segments = key[1].strip("/").split("/")
    if segments[0] == "comments" and request["method"] == "GET":
        _index_submissions(rec, json.loads(text)[0])
        if len(segments) == 2:
            rec.threads.add(segments[1])
    elif segments[0] == "r" and request["method"] == "GET":
        _index_submissions(rec, json.loads(text))


def _index_submissions(rec: Recordings, listing: dict) -> None:
    for child in listing.get("data", {}).get("children", []):
        if child.get("kind") == "t3":
            rec.submissions.setdefault(child["data"]["id"], child["data"])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Clients killed or timed out mid-request are part of the tests: no tracebacks."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.replay.handle(self)

    do_POST = do_GET

    def log_message(self, *args) -> None:
        """Silence the per-request stderr lines."""


class ReplayServer:
    """The replay server; use as a context manager (``with ReplayServer(...) as server``)."""

    def __init__(
        self,
        recordings: Recordings,
        *,
        world: dict[str, list[str]] | None = None,
        page_size: int = 100,
        fault_rate: float = 0.0,
        fault_kinds: tuple[str, ...] = FAULT_KINDS,
        retry_after: str = "0",
        stall_s: float = 0.5,
        seed: int = 0,
    ):
        self.rec = recordings
        self.world = {k.lower(): list(v) for k, v in (world or {}).items()}
        self.page_size = page_size
        self.fault_rate = fault_rate
        self.fault_kinds = fault_kinds
        self.retry_after = retry_after
        self.stall_s = stall_s
        self.script: list[str] = []
        self.always_fail: set[str] = set()  # paths answered 500 every time
        self.reject_token = False  # answer the token endpoint 401 (wrong credentials)
        self.more_delay_s = 0.0
        self._trip: tuple[Callable[[str, str], bool], Callable[[], None]] | None = None
        self.count = 0
        self.faults: Counter = Counter()
        self.served: list[tuple[str, str, int]] = []
        self.token_auth: list[str] = []
        self.max_more_in_flight = 0
        self._more_in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.replay = self
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def arm(self, predicate: Callable[[str, str], bool], hook: Callable[[], None]) -> None:
        """Call ``hook`` once, when a request with ``predicate(method, path)`` true arrives."""
        with self._lock:
            self._trip = (predicate, hook)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        """Answer one request: trip hook, then a fault or the replayed response."""
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        parts = urlsplit(h.path)
        with self._lock:
            self.count += 1
            trip, self._trip = self._trip, None
            if trip is not None and not trip[0](h.command, parts.path):
                trip, self._trip = None, trip
        if trip is not None:
            trip[1]()
        is_more = parts.path.rstrip("/").endswith(MORE_PATH)
        self._track_more(+1 if is_more else 0)
        try:
            status, payload = self._route(h, parts, body)
            if is_more and self.more_delay_s:
                time.sleep(self.more_delay_s)
        finally:
            self._track_more(-1 if is_more else 0)
        self._respond(h, status, payload, parts.path)

    def _track_more(self, delta: int) -> None:
        with self._lock:
            self._more_in_flight += delta
            self.max_more_in_flight = max(self.max_more_in_flight, self._more_in_flight)

    def _route(self, h, parts, body: str) -> tuple[int, bytes]:
        if parts.path.rstrip("/") == TOKEN_PATH:
            self.token_auth.append(h.headers.get("Authorization", ""))
            if self.reject_token:
                return 401, json.dumps({"message": "Unauthorized", "error": 401}).encode()
            return 200, self.rec.token
        if not h.headers.get("Authorization", "").lower().startswith("bearer "):
            return 401, json.dumps({"message": "Unauthorized", "error": 401}).encode()
        key = request_key(h.command, parts.path, parts.query, body)
        if key in self.rec.exact:
            return self.rec.exact[key]
        segments = key[1].strip("/").split("/")
        if len(segments) == 3 and segments[0] == "r" and segments[1] in self.world:
            return 200, json.dumps(self._listing(segments[1], segments[2], dict(key[2]))).encode()
        return 404, NOT_FOUND

    def _listing(self, sub: str, kind: str, params: dict) -> dict:
        items = [self.rec.submissions[i] for i in self.world[sub]]
        if kind == "new":
            items.sort(key=lambda d: (-d["created_utc"], d["id"]))
        else:
            items.sort(key=lambda d: (-d["score"], d["id"]))
        names = [f"t3_{d['id']}" for d in items]
        after = params.get("after")
        start = names.index(after) + 1 if after in names else (len(items) if after else 0)
        size = min(int(params.get("limit", 25)), 100, self.page_size)
        page = items[start : start + size]
        more = start + size < len(items)
        data = {
            "after": names[start + len(page) - 1] if page and more else None,
            "before": None,
            "dist": len(page),
            "modhash": "",
            "children": [{"kind": "t3", "data": d} for d in page],
        }
        return {"kind": "Listing", "data": data}

    def _pick_fault(self, path: str) -> str | None:
        if path in self.always_fail:
            return "500"
        with self._lock:
            if self.script:
                return self.script.pop(0)
        if self.fault_rate <= 0:
            return None
        with self._lock:
            hit = self._rng.random() < self.fault_rate
            kind = self._rng.choice(self.fault_kinds)
            variant = self._rng.random() < 0.5
        if not hit:
            return None
        if kind == "truncate":
            kind = "truncate-short" if variant else "truncate-cut"
        return kind

    def _respond(self, h, status: int, payload: bytes, path: str) -> None:
        fault = self._pick_fault(path)
        if fault and fault.startswith("truncate") and status != 200:
            fault = None  # error bodies are not parsed: cutting them is no fault
        with self._lock:
            self.served.append((h.command, path, status))
            if fault:
                self.faults[fault] += 1
        if fault == "drop":
            h.close_connection = True
        elif fault == "429":
            self._send(h, 429, b'{"message": "Too Many Requests", "error": 429}', self.retry_after)
        elif fault == "500":
            self._send(h, 500, b"<html><body>500 Internal Server Error</body></html>")
        elif fault == "truncate-short":
            self._send(h, status, payload[: max(1, len(payload) // 2)])
        elif fault == "truncate-cut":
            self._send(h, status, payload, cut=True)
        else:
            if fault == "stall":
                time.sleep(self.stall_s)
            self._send(h, status, payload)

    @staticmethod
    def _send(h, status: int, payload: bytes, retry_after=None, cut: bool = False) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=UTF-8")
            h.send_header("Content-Length", str(len(payload)))
            if retry_after is not None:
                h.send_header("Retry-After", retry_after)
            if h.close_connection:  # the client asked (the token request does): say so, or it
                h.send_header("Connection", "close")  # may reuse the socket we are closing
            h.end_headers()
            h.wfile.write(payload[: len(payload) // 2] if cut else payload)
        except OSError:  # the client gave up (timeout) and closed its end
            pass
        if cut:
            h.close_connection = True


def recorded_comments(folder: Path, cassette: str) -> dict[str, dict]:
    """Every comment (t1) in a cassette's responses by id: the expected values for tests.

    Walks listings, reply trees and morechildren ``things`` without praw, so counts derived
    from it are independent of the code under test.
    """
    found: dict[str, dict] = {}
    data = json.loads((Path(folder) / f"{cassette}.json").read_text(encoding="utf-8"))
    for item in data["interactions"]:
        if TOKEN_PATH not in item["request"]["uri"]:
            _walk(json.loads(item["response"]["body"]["string"]), found)
    return found


def _walk(node, found: dict) -> None:
    if isinstance(node, list):
        for child in node:
            _walk(child, found)
    elif isinstance(node, dict):
        if node.get("kind") == "t1":
            found.setdefault(node["data"]["id"], node["data"])
            _walk(node["data"].get("replies"), found)
        elif node.get("kind") == "Listing":
            _walk(node["data"]["children"], found)
        elif "json" in node:
            _walk(node["json"]["data"].get("things", []), found)
