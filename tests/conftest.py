"""Shared fixtures: a temporary warehouse, the ../shared data folder, an isolated Prefect home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Isolate Prefect and caches before anything imports prefect.
_TMP = Path(tempfile.mkdtemp(prefix="communitybench-tests-"))
os.environ["PREFECT_HOME"] = str(_TMP / "prefect")
os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba")
)

import communitybench  # noqa: E402,F401  (applies the offline defaults)
import warehouse  # noqa: E402

SHARED = Path(
    os.environ.get("COMMUNITYBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
SHARED_DATA = SHARED / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (tests read real data from ../shared)")
    return path


@pytest.fixture
def wh_path(tmp_path) -> Path:
    return tmp_path / "wh.duckdb"


@pytest.fixture
def con(wh_path):
    connection = warehouse.connect(wh_path)
    warehouse.ensure_tables(connection, layer="raw")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session (first start takes 8-17 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def dask_scheduler():
    """A real Dask cluster for the session: 2 worker processes on loopback; yields its address.

    Tests point ``[runner] address`` at it (the DaskTaskRunner-with-a-scheduler path); starting
    it once keeps the worker processes' imports (torch, the model) to one per session.
    """
    import logging

    from distributed import LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
