"""Crawl settings unpacked from the [reddit] config section (plus CLI overrides)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from communitybench.config import UsageError
from communitybench.sources.reddit.client import RetryPolicy
from communitybench.sources.reddit.store import CRAWL_VERSION


@dataclass(frozen=True)
class CrawlOptions:
    """What to crawl. Everything here shapes the data, so it all goes into the crawl key."""

    subreddits: tuple[str, ...]
    listings: tuple[str, ...] = ("new", "top")
    time_filter: str = "month"
    limit: int = 100
    replace_more_limit: int | None = 32  # None = expand every 'more comments' stub
    replace_more_threshold: int = 0
    member_min_threads: int = 0  # 0 = no member histories
    member_limit: int = 100

    def settings(self) -> dict:
        """JSON-able settings (stored in crawl_runs)."""
        data = asdict(self)
        data["subreddits"] = list(self.subreddits)
        data["listings"] = list(self.listings)
        return data

    def key(self) -> str:
        """Identity of the crawl: an unfinished crawl with the same key is resumed."""
        blob = json.dumps({"version": CRAWL_VERSION, **self.settings()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def require_subreddits(options: CrawlOptions) -> None:
    """A crawl needs at least one subreddit (UsageError saying where to list them)."""
    if not options.subreddits:
        raise UsageError(
            "no subreddits to crawl: list them in [reddit].subreddits of the config or pass "
            "--subreddit NAME"
        )


def clean_subreddits(names) -> tuple[str, ...]:
    """Subreddit names without 'r/' prefixes, blanks or repeats (case as given)."""
    cleaned = (n.strip().removeprefix("/").removeprefix("r/").strip("/") for n in names)
    return tuple(dict.fromkeys(n for n in cleaned if n))


def crawl_options(reddit_config, *, subreddits=None, limit: int | None = None) -> CrawlOptions:
    """Unpack [reddit] into CrawlOptions; ``subreddits`` / ``limit`` override the config."""
    more = reddit_config.replace_more_limit
    return CrawlOptions(
        subreddits=clean_subreddits(subreddits or reddit_config.subreddits),
        listings=tuple(dict.fromkeys(reddit_config.listings)),
        time_filter=reddit_config.top_time_filter,
        limit=limit or reddit_config.limit,
        replace_more_limit=None if more is None or more < 0 else more,
        replace_more_threshold=reddit_config.replace_more_threshold,
        member_min_threads=reddit_config.member_history_min_threads,
        member_limit=reddit_config.member_history_limit,
    )


def retry_policy(reddit_config) -> RetryPolicy:
    """Unpack the retry/backoff settings of [reddit]."""
    return RetryPolicy(
        max_retries=reddit_config.max_retries,
        backoff_base_s=reddit_config.backoff_base_s,
        backoff_max_s=reddit_config.backoff_max_s,
        timeout_s=reddit_config.timeout_s,
    )
