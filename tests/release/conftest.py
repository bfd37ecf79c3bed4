"""A copy of the session demo build with its instance splits assigned, for the release machinery."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.release import assign_splits


@pytest.fixture(scope="session")
def split_warehouse(demo_build, tmp_path_factory) -> Path:
    """The demo build's marts plus ``instance_splits`` (read-only: copy it before writing)."""
    wh = demo_build.copy(tmp_path_factory.mktemp("release_marts") / "wh.duckdb")
    assign_splits(wh, demo_build.config)
    return wh
