"""Session fixtures: the demo forum built once through the real stages, a Prefect test server,
a Dask cluster, and a temporary warehouse per test.

Stage tests take their inputs from the stages that really produce them: ``demo_build`` runs the
demo forum (seed 7, month 1) through ingest → staging → texts → embeddings → members →
communities → labels → profiles → tasks once per session; a test that writes works on its own
copy (``demo_copy``).
"""

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
from tests.fixtures import demo  # noqa: E402


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
def demo_forum(tmp_path_factory) -> Path:
    """The two-month demo forum (seed 7), written once per session."""
    from communitybench.sources.demo.forum import write_demo_forum

    out = tmp_path_factory.mktemp("forum")
    write_demo_forum(out, seed=demo.SEED, months=2)
    return out


@pytest.fixture(scope="session")
def demo_build(demo_forum, tmp_path_factory) -> demo.DemoBuild:
    """The embedded default (seed 7, one month) through every stage up to the task tables:
    the demo_forum stage writes its own forum folder, then real embeddings, real HDBSCAN,
    extractive profiles. Read-only: use ``demo_copy`` to write. ``forum`` is the session's
    two-month forum (the same month 1, byte for byte) for tests that add month 2."""
    root = tmp_path_factory.mktemp("demo_build")
    config = demo.demo_config(root / "forum", months=1)
    results = demo.run(root / "wh.duckdb", config, "demo_forum", *demo.BUILD_STAGES)
    truth = demo.load_truth(root / "forum")
    return demo.DemoBuild(demo_forum, root / "wh.duckdb", truth, config, results)


@pytest.fixture
def demo_copy(demo_build, tmp_path) -> Path:
    """A private copy of the demo build's warehouse."""
    return demo_build.copy(tmp_path / "demo.duckdb")


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
