"""Where parallel work runs: the Prefect task runner ``[runner]`` asks for (local or Dask).

Every stage runs inside the flow ``flows.pipeline.run_stages``, whose task runner is made here.
A stage with embarrassingly parallel work (decoding dump files, encoding chunks of texts) hands
it to ``map_ordered``: inside a flow run each item becomes a Prefect task on that flow's task
runner (a local thread pool, or Dask workers with ``kind = "dask"``); outside one (tests and
benches that call ``communitybench.pipeline.execute``) the items run one after another here.
The stage code is the same either way: the runner is a property of the path that runs it.

Only pure work travels to workers (text chunks in, vectors out; dump files in, spooled row
files out). The warehouse is a single-writer DuckDB file, so the stage that maps the work writes
every result itself, each committed as it arrives: an interrupted stage keeps what it finished.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from communitybench.config import RunnerConfig
from communitybench.settings import get_settings


def dask_address(runner: RunnerConfig) -> str | None:
    """The scheduler to use: COMMUNITYBENCH_DASK_ADDRESS, else runner.address, else None."""
    return get_settings().dask_address or runner.address


def make_task_runner(runner: RunnerConfig, *, local_workers: int = 1):
    """The Prefect task runner ``[runner]`` asks for.

    ``local_workers`` sizes the local thread pool: 1, because the parallel stages' work is
    already multi-threaded (torch, DuckDB); the stage writes a result while the next computes.
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


def _flow_task_runner():
    if "prefect" not in sys.modules:  # no flow run without Prefect; importing it costs seconds
        return None
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context.task_runner if context is not None else None


def distributed() -> bool:
    """Whether the current flow run's task runner sends tasks to Dask workers."""
    runner = _flow_task_runner()
    return runner is not None and type(runner).__name__ == "DaskTaskRunner"


def map_ordered(fn: Callable, items: Iterable, *, window: int, **kwargs) -> Iterator:
    """``fn(item, **kwargs)`` for each item, results yielded in item order.

    In a flow run each call is a Prefect task named after ``fn`` on the flow's task runner, with
    at most ``window`` in flight; a failed one raises ``ParallelTaskError`` naming the task and
    item, chained to the task's exception. Outside a flow run the calls run here, in order.
    """
    if _flow_task_runner() is None:
        yield from (fn(item, **kwargs) for item in items)
        return
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    # no result cache: the warehouse is the cache (rows written per item as results arrive)
    as_task = task(fn, name=fn.__name__, cache_policy=NO_CACHE, persist_result=False, retries=1)
    pending: deque = deque()
    done = 0
    for item in items:
        pending.append(as_task.submit(item, **kwargs))
        if len(pending) >= window:
            yield _result(as_task, pending.popleft(), done)
            done += 1
    while pending:
        yield _result(as_task, pending.popleft(), done)
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
