"""Reading a published release for scoring: where it is, its instances per task and split.

An instance's community level is its ``level`` column when the release has one ('forum' or
'sub'); releases without it put every instance in the one group 'all'. Its forum is the
``subreddit`` column (or ``site`` / ``forum`` when a source names it so).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from communitybench.config import UsageError

TASKS = ("pi", "dp", "ci", "ccg")
SPLITS = ("train", "dev", "test")


@dataclass
class Release:
    """A release folder and its manifest; instances are loaded per (task, split) on demand."""

    path: Path
    manifest: dict
    sample: int | None = None  # at most this many instances per (task, split): `sampled`
    _cache: dict = field(default_factory=dict, repr=False)

    def sampled(self, n: int) -> Release:
        """The same release seen through a fixed sample of at most ``n`` instances per task and
        split: those whose sha256(instance_id) sort first, in file order. Content-free and the
        same for every model, so sampled scores of two models compare on the same questions."""
        if n < 1:
            raise UsageError(f"a sample needs at least one instance per task, not {n}")
        return replace(self, sample=n, _cache={})

    @property
    def version(self) -> str:
        return self.manifest.get("version", self.path.name)

    def instances(self, task: str, split: str) -> list[dict]:
        """The rows of ``<task>/<split>.jsonl`` (empty when the release has none)."""
        if task not in TASKS:
            raise UsageError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r}; splits are {', '.join(SPLITS)}")
        key = (task, split)
        if key not in self._cache:
            path = self.path / task / f"{split}.jsonl"
            rows = []
            if path.exists():
                with path.open(encoding="utf-8") as handle:
                    rows = [json.loads(line) for line in handle if line.strip()]
            if self.sample is not None and len(rows) > self.sample:
                digest = [hashlib.sha256(r["instance_id"].encode()).hexdigest() for r in rows]
                keep = set(sorted(range(len(rows)), key=digest.__getitem__)[: self.sample])
                rows = [r for i, r in enumerate(rows) if i in keep]
            self._cache[key] = rows
        return self._cache[key]

    def embedding_model(self) -> tuple[str, str]:
        """The encoder the release was built with (model, revision)."""
        from communitybench.inference.encoder import OFFLINE_MODEL, OFFLINE_REVISION

        emb = self.manifest.get("models", {}).get("embedding") or {}
        return emb.get("model", OFFLINE_MODEL), emb.get("revision", OFFLINE_REVISION)


def open_release(ref: str | Path, releases_dir: Path | None = None) -> Release:
    """A release from a folder path, or a version name under ``releases_dir``."""
    candidates = [Path(ref)]
    if releases_dir is not None:
        candidates.append(Path(releases_dir) / str(ref))
    for path in candidates:
        if (path / "manifest.json").is_file():
            return Release(path.resolve(), json.loads((path / "manifest.json").read_text()))
    looked = ", ".join(str(p) for p in candidates)
    raise UsageError(
        f"no release at {ref!r} (looked for manifest.json in {looked}); pass a release folder "
        "or a version published under $COMMUNITYBENCH_RELEASES_DIR"
    )


def level_of(row: dict) -> str:
    """The instance's community level ('forum', 'sub'), or 'all' when the release has none."""
    return str(row.get("level") or "all")


def forum_of(row: dict) -> str:
    """The instance's forum: its subreddit (or site)."""
    for key in ("subreddit", "site", "forum"):
        if row.get(key):
            return str(row[key])
    return "unknown"


def query_text(row: dict) -> str:
    """The query as one text: title, then body."""
    return "\n\n".join(p for p in (row.get("query_title"), row.get("query_body")) if p)


def profile_text(profile) -> str:
    """A community profile (JSON text or dict) as readable lines, summary first."""
    data = json.loads(profile) if isinstance(profile, str) else dict(profile or {})
    lines = [str(data["summary"])] if data.get("summary") else []
    for section in ("common_identity", "common_bond"):
        for key, value in (data.get(section) or {}).items():
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            lines.append(f"{key.replace('_', ' ')}: {value}")
    for key, value in data.items():
        if key not in ("summary", "common_identity", "common_bond", "profile_method"):
            if isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False)
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def candidate_profiles(row: dict) -> list:
    """A CI instance's candidate profiles, parsed."""
    value = row["candidate_profiles"]
    return json.loads(value) if isinstance(value, str) else list(value)
