"""Secrets and paths from the environment (never from code or configs).

Every variable is prefixed ``COMMUNITYBENCH_``; a ``.env`` file in the working directory is read
too. Secrets are ``SecretStr`` so they never print in reprs or logs.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from communitybench.config import UsageError
from communitybench.env import project_root

# A development-only key so the demo runs with no setup; real builds must set their own.
DEV_PSEUDONYM_KEY = "communitybench-dev-key-not-secret"


class Settings(BaseSettings):
    """Runtime settings read from ``COMMUNITYBENCH_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="COMMUNITYBENCH_", env_file=".env", extra="ignore", frozen=True
    )

    # relative to the project root (communitybench.env.project_root): $COMMUNITYBENCH_HOME or cwd
    config: Path | None = None  # None: configs/demo.toml there, else the built-in demo defaults
    warehouse: Path = Field(
        default_factory=lambda: project_root() / "warehouse" / "communitybench.duckdb"
    )
    data_dir: Path = Field(default_factory=lambda: project_root() / "data")
    releases_dir: Path = Field(default_factory=lambda: project_root() / "releases")
    build_dir: Path = Field(default_factory=lambda: project_root() / "build")
    # keyed pseudonyms: member_id = HMAC-SHA256(pseudonym_key, author)
    pseudonym_key: SecretStr | None = None
    # reddit API (praw also reads praw.ini and its own praw_* variables)
    reddit_client_id: str | None = None
    reddit_client_secret: SecretStr | None = None
    reddit_user_agent: str | None = None
    reddit_base_url: str | None = None
    # OpenAI-compatible endpoint for profiles (unset -> extractive profiles)
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    # Dask scheduler for [runner] kind = "dask" (overrides runner.address)
    dask_address: str | None = None

    def pseudonym_key_value(self, *, allow_dev_default: bool) -> str:
        """Return the HMAC key; the dev default is allowed only for the demo, with a warning."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value()
        if not allow_dev_default:
            raise UsageError(
                "COMMUNITYBENCH_PSEUDONYM_KEY is not set: real data needs a secret key for the "
                "keyed member pseudonyms. Set it in the environment (e.g. `export "
                "COMMUNITYBENCH_PSEUDONYM_KEY=$(openssl rand -hex 32)`)."
            )
        warnings.warn(
            "COMMUNITYBENCH_PSEUDONYM_KEY is not set; using the public development key "
            "(acceptable for the demo forum only).",
            stacklevel=2,
        )
        return DEV_PSEUDONYM_KEY


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
