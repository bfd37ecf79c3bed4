"""Task runners for the heavy parallel stages (dump decoding, embedding): local or Dask.

``[runner] kind = "local"`` (the default) runs those stages' Prefect tasks in this process on a
thread pool. ``kind = "dask"`` runs them through prefect-dask's ``DaskTaskRunner``: on the
scheduler at ``runner.address`` (or ``COMMUNITYBENCH_DASK_ADDRESS``), or, with no address, on a
``LocalCluster`` of ``n_workers`` processes bound to loopback (one big machine).

Only pure work travels to workers (text chunks in, vectors out; dump files in, spooled row
files out). The warehouse is a single-writer DuckDB file, so the flow that submits the tasks
writes every result itself, each committed as it arrives: an interrupted stage keeps what it
finished, whichever runner ran it.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator

from communitybench.config import RunnerConfig
from communitybench.settings import get_settings


def dask_address(runner: RunnerConfig) -> str | None:
    """The scheduler to use: COMMUNITYBENCH_DASK_ADDRESS, else runner.address, else None."""
    return get_settings().dask_address or runner.address


def make_task_runner(runner: RunnerConfig, *, local_workers: int = 1):
    """The Prefect task runner ``[runner]`` asks for.

    ``local_workers`` sizes the local thread pool: 1 for stages whose work is already
    multi-threaded (torch, DuckDB), so the flow writes results while the next chunk computes.
    """
    if runner.kind == "local":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=local_workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError(
            "[runner] kind = 'dask' needs prefect-dask and distributed (pip install -e .)"
        ) from exc
    address = dask_address(runner)
    if address:
        return DaskTaskRunner(address=address)
    # scheduler, nanny and worker chatter (start/stop, closed comms at teardown) is INFO; the
    # spawned worker processes read DASK_* from the environment when they import dask
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": runner.n_workers,
            "threads_per_worker": runner.threads_per_worker,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
            "memory_limit": runner.memory_limit,
        },
    )


def window_size(runner: RunnerConfig) -> int:
    """Tasks kept in flight: two per worker thread, so no worker waits for the next input."""
    if runner.kind == "local":
        return 2
    return 2 * runner.n_workers * runner.threads_per_worker


def map_ordered(task, items: Iterable, *, window: int, **kwargs) -> Iterator:
    """Submit ``task(item, **kwargs)`` per item, at most ``window`` in flight; yield results in
    submission order (deterministic writes). Must be called inside a flow run; an item whose
    task fails raises ``ParallelTaskError`` here, chained to the task's exception."""
    pending: deque = deque()
    done = 0
    for item in items:
        pending.append(task.submit(item, **kwargs))
        if len(pending) >= window:
            yield _result(task, pending.popleft(), done)
            done += 1
    while pending:
        yield _result(task, pending.popleft(), done)
        done += 1


class ParallelTaskError(RuntimeError):
    """A task of a parallel stage failed (its exception is the ``__cause__``)."""


def _result(task, future, index: int):
    """The future's result; a failure is raised as a new exception chained to the task's.

    The task's own exception object stays referenced by the runner (a Dask client keeps it
    with its future); raising a fresh one here keeps the caller's frames, which hold open
    warehouse connections, out of that object's traceback.
    """
    try:
        return future.result()
    except Exception as exc:
        raise ParallelTaskError(
            f"{task.name} #{index} failed on the task runner: {type(exc).__name__}: {exc}"
        ) from exc


def describe(runner: RunnerConfig) -> str:
    """One line for summaries: where the parallel stages ran."""
    if runner.kind == "local":
        return "local"
    address = dask_address(runner)
    if address:
        return f"dask scheduler {address}"
    return f"dask LocalCluster ({runner.n_workers} workers x {runner.threads_per_worker} threads)"
