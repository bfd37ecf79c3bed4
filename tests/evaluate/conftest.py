"""A demo release (the session demo build through the real release stage), for scoring tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from communitybench import pipeline


@pytest.fixture(scope="session")
def demo_release(demo_build, tmp_path_factory) -> Path:
    """``releases/demo`` built from a copy of the demo build's warehouse (read-only)."""
    root = tmp_path_factory.mktemp("evaluate_release")
    wh = demo_build.copy(root / "wh.duckdb")
    dirs = {"releases_dir": root / "releases", "build_dir": root / "build", "version": "demo"}
    pipeline.execute(pipeline.stage("release"), demo_build.config, wh, **dirs)
    return root / "releases" / "demo"
