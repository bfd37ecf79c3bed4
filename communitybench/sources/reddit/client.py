"""The praw client the crawler uses: credentials, API base URL and a retrying requestor.

Credentials come only from the environment or praw.ini: ``COMMUNITYBENCH_REDDIT_CLIENT_ID`` /
``_CLIENT_SECRET`` / ``_USER_AGENT`` first, then praw's own ``praw_client_id`` /
``praw_client_secret`` / ``praw_user_agent`` variables and the praw.ini site section
(``praw_site``, default ``DEFAULT``). ``COMMUNITYBENCH_REDDIT_BASE_URL`` points praw's
``oauth_url``, ``reddit_url`` and ``short_url`` at another server (a replay server in tests).

Every HTTP request goes through :class:`RetryingRequestor`, below prawcore's session: 429, 5xx,
timeouts, dropped connections and malformed JSON bodies are retried (tenacity) with exponential
backoff and jitter, never sooner than ``Retry-After``. prawcore therefore never sees a transient
failure and its own (fixed, 2-4 s) retries never run; when the budget is spent a
``RetriesExhausted`` surfaces.
"""

from __future__ import annotations

import base64
import configparser
import json
import logging
import os
import threading
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import praw
import requests
from praw.config import Config
from prawcore import Requestor
from prawcore.exceptions import RequestException
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random_exponential,
)

from communitybench.errors import CredentialsError

log = logging.getLogger(__name__)

# Reddit answers concurrent morechildren calls with 429: one at a time per process.
MORECHILDREN_LOCK = threading.Lock()
GENERIC_AGENTS = ("python", "python-requests", "praw", "requests", "mozilla", "curl", "test", "bot")
MIN_AGENT_CHARS = 10
REDDIT_APPS_URL = "https://www.reddit.com/prefs/apps"


class RetriesExhausted(Exception):
    """A request still failed (429, 5xx, timeout, connection, bad JSON) after every retry."""

    def __init__(self, reason: str, attempts: int, method: str, url: str):
        self.reason = reason
        self.attempts = attempts
        super().__init__(f"{method.upper()} {url}: {reason} after {attempts} attempts")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and backoff (from the [reddit] config section)."""

    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        """Exponential backoff with equal jitter, never shorter than ``Retry-After``.

        Equal jitter (AWS architecture blog, "Exponential Backoff And Jitter"): half of
        ``min(backoff_max_s, backoff_base_s * 2**retry)`` fixed, plus up to that half at random.
        """
        half = {"multiplier": self.backoff_base_s / 2, "max": self.backoff_max_s / 2}
        jittered = wait_exponential(**half) + wait_random_exponential(**half)
        return max(jittered(state), state.outcome.exception().retry_after or 0.0)


@dataclass
class RequestStats:
    """HTTP attempts and retries by reason, for the crawl summary."""

    requests: int = 0
    retries: Counter = field(default_factory=Counter)


class TransientResponse(Exception):
    """One attempt failed in a way a later attempt may not (the reason names which)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def retry_reason(response: requests.Response) -> str | None:
    """Why a response must be retried (``'429'``, ``'5xx'``, ``'timeout'``, ``'bad_json'``)."""
    status = response.status_code
    if status == 429:
        return "429"
    if 500 <= status < 600:
        return "5xx"
    if status == 408:
        return "timeout"
    if status in (200, 201, 202):
        # every endpoint the crawler calls answers JSON: an empty or cut body is a fault
        try:
            json.loads(response.content)
        except ValueError:
            return "bad_json"
    return None


def _exception_reason(exc: RequestException) -> str | None:
    original = exc.original_exception
    if isinstance(original, requests.Timeout):
        return "timeout"
    if isinstance(original, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return "connection"
    return None


class RetryingRequestor(Requestor):
    """A prawcore requestor that retries transient failures itself (see the module doc)."""

    def __init__(self, *args, policy: RetryPolicy, stats: RequestStats, sleep=time.sleep, **kw):
        super().__init__(*args, timeout=policy.timeout_s, **kw)
        self.policy = policy
        self.stats = stats
        self._retrying = Retrying(
            retry=retry_if_exception_type(TransientResponse),
            stop=stop_after_attempt(policy.max_retries + 1),
            wait=policy.wait,
            sleep=sleep,
            before_sleep=self._count_retry,
        )

    def request(self, *args, timeout: float | None = None, **kwargs) -> requests.Response:
        """Issue one request, retrying 429/5xx/timeouts/connection errors/bad JSON."""
        method = str(kwargs.get("method", args[0] if args else "?"))
        url = str(kwargs.get("url", args[1] if len(args) > 1 else "?"))
        lock = MORECHILDREN_LOCK if "/api/morechildren" in url else nullcontext()
        with lock:
            try:
                return self._retrying(self._attempt, method, url, args, kwargs)
            except RetryError as exc:
                last = exc.last_attempt
        error = RetriesExhausted(last.exception().reason, last.attempt_number, method, url)
        # no request kwargs in the exception (nor a chained one): they hold the credentials
        raise RequestException(error, (method, url), {})

    def _attempt(self, method: str, url: str, args, kwargs) -> requests.Response:
        self.stats.requests += 1
        try:
            response = super().request(*args, timeout=self.policy.timeout_s, **kwargs)
        except RequestException as exc:
            reason, hint = _exception_reason(exc), None
            if reason is None:
                raise
        else:
            reason = retry_reason(response)
            if reason is None:
                return response
            hint = retry_after_seconds(response.headers.get("Retry-After"))
        raise TransientResponse(reason, hint)  # outside the except: chains no credentials

    def _count_retry(self, state: RetryCallState) -> None:
        reason = state.outcome.exception().reason
        self.stats.retries[reason] += 1
        method, url = state.args[:2]
        log.info(  # routine at scale; the totals are in the crawl summary
            "retry %d/%d after %s: %s %s (waiting %.2f s)",
            state.attempt_number,
            self.policy.max_retries,
            reason,
            method.upper(),
            url,
            state.upcoming_sleep,
        )


@dataclass(frozen=True)
class Credentials:
    """Resolved praw settings; ``repr`` hides the secret."""

    client_id: str
    client_secret: str = field(repr=False)
    user_agent: str
    site_name: str

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be logged or stored (the secret and its Basic auth form)."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return (self.client_secret, basic)


def resolve_credentials(settings) -> Credentials:
    """Client id/secret and user agent from COMMUNITYBENCH_REDDIT_*, praw_* or praw.ini."""
    secret = settings.reddit_client_secret
    passed = {
        "client_id": settings.reddit_client_id,
        "client_secret": secret.get_secret_value() if secret is not None else None,
        "user_agent": settings.reddit_user_agent,
    }
    site = os.environ.get("praw_site") or "DEFAULT"
    try:
        config = Config(site, **{k: v for k, v in passed.items() if v})
    except configparser.NoSectionError:
        raise CredentialsError(
            f"praw.ini has no [{site}] section (praw_site={site!r}): add the section or unset "
            "praw_site, or set COMMUNITYBENCH_REDDIT_CLIENT_ID / _CLIENT_SECRET / _USER_AGENT"
        ) from None
    values = {name: getattr(config, name) for name in passed}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise CredentialsError(_missing_message(missing, site))
    check_user_agent(values["user_agent"])
    return Credentials(site_name=site, **values)


def _missing_message(missing: list[str], site: str) -> str:
    wanted = ", ".join(f"COMMUNITYBENCH_REDDIT_{name.upper()}" for name in missing)
    praw_names = ", ".join(f"praw_{name}" for name in missing)
    return (
        f"Reddit credentials missing: {', '.join(missing)}. Set {wanted} in the environment "
        f"(or praw's own {praw_names}, or {', '.join(missing)} in the [{site}] section of "
        f"praw.ini). Create a 'script' app at {REDDIT_APPS_URL} for the id and secret; the user "
        "agent must be descriptive, e.g. 'python:communitybench:0.1 (by u/yourname)'."
    )


def check_user_agent(user_agent: str) -> None:
    """Reddit's API rules ask for a unique, descriptive user agent; refuse generic ones."""
    text = user_agent.strip()
    if len(text) < MIN_AGENT_CHARS or text.lower().split("/")[0] in GENERIC_AGENTS:
        raise CredentialsError(
            f"the Reddit user agent {text!r} is not descriptive: set "
            "COMMUNITYBENCH_REDDIT_USER_AGENT (or praw_user_agent) to something like "
            "'python:communitybench:0.1 (by u/yourname)'"
        )
    if "u/" not in text:
        log.warning("the Reddit user agent %r names no account; add '(by u/name)'", text)


def make_reddit(
    credentials: Credentials,
    *,
    policy: RetryPolicy,
    stats: RequestStats,
    base_url: str | None = None,
    sleep=time.sleep,
) -> praw.Reddit:
    """A read-only praw client with the retrying requestor (and the base URL, when set)."""
    urls = {}
    if base_url:
        base = base_url.rstrip("/")
        urls = {"oauth_url": base, "reddit_url": base, "short_url": base}
    return praw.Reddit(
        site_name=credentials.site_name,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        user_agent=credentials.user_agent,
        check_for_updates=False,
        check_for_async=False,
        requestor_class=RetryingRequestor,
        requestor_kwargs={"policy": policy, "stats": stats, "sleep": sleep},
        **urls,
    )


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***`` (for stored and logged error messages)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
