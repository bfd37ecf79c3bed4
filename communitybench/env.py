"""Process environment defaults measured in ../shared/ENVIRONMENT.md, and the project root.

They are applied with ``setdefault`` so an operator can still override any of them.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Where relative paths live (``configs/``, ``warehouse/``, ``releases/``, ``data/``):
    ``$COMMUNITYBENCH_HOME``, else the working directory (the checkout's root when ``make``
    runs). Nothing depends on where the package itself is installed, so a wheel works."""
    return Path(os.environ.get("COMMUNITYBENCH_HOME") or Path.cwd())


def apply_offline_defaults(root: Path | None = None) -> None:
    """Set offline/telemetry/cache variables unless the caller already set them."""
    root = root or project_root()
    defaults = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(root / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "praw_check_for_updates": "False",
        "NUMBA_CACHE_DIR": str(root / ".cache" / "numba"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
