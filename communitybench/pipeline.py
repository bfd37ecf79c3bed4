"""Running stages: the one function every path calls (``execute``), and stage lookup by name.

The pipeline is the ordered list ``communitybench.stages.STAGES``. ``build-release``, every
per-stage CLI command and the scheduled rebuild run stages through the Prefect flow
``flows.pipeline.run_stages``, whose task for each stage calls ``execute`` here; tests and
benches call ``execute`` directly. Where parallel work runs (this process or Dask) is a property
of the flow's task runner (``communitybench.runner``), not of the stage.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC
from importlib import import_module
from pathlib import Path

import pyarrow as pa

import schemas
import warehouse
from communitybench.config import BuildConfig, UsageError
from communitybench.stage import Stage, StageResult, Work, reuse_rows
from communitybench.stages import ORDER, load
from warehouse import StageInputError


def stage(name: str) -> Stage:
    """The stage called ``name`` (ValueError listing the stages there are)."""
    if name in ORDER:
        return load(name)
    raise UsageError(f"no stage {name!r}; the stages are: {', '.join(ORDER)}")


def all_stages() -> tuple[Stage, ...]:
    """Every stage in pipeline order (imports every stage module)."""
    return tuple(load(name) for name in ORDER)


def select(config: BuildConfig, names: Iterable[str] | None = None) -> list[Stage]:
    """The stages to run, in pipeline order: ``names``, or every stage that applies to the
    configured source. Naming a stage the source does not use (``crawl`` on the demo) is a
    UsageError, not a silent no-op."""
    if names is None:
        return [s for s in all_stages() if s.when(config)]
    wanted = {stage(n).name for n in names}
    chosen = [load(n) for n in ORDER if n in wanted]
    idle = [s.name for s in chosen if not s.when(config)]
    if idle:
        raise UsageError(
            f"stage(s) {', '.join(idle)} do not apply to [source] kind = {config.source.kind!r} "
            "(demo_forum: demo; ingest: demo or dumps; crawl: reddit)"
        )
    return chosen


def producers(table: str) -> list[str]:
    """The stages that write ``table``."""
    return [s.name for s in all_stages() if table in s.outputs]


def versions() -> dict[str, str]:
    """Every stage's version (the release manifest records them; the fingerprint hashes them)."""
    return {s.name: s.version for s in all_stages()}


def check_inputs(con, stages: list[Stage]) -> None:
    """Raise StageInputError when a stage reads a table that neither the warehouse nor an
    earlier stage of ``stages`` provides; the message names the stages that build it."""
    produced: set[str] = set()
    for current in stages:
        missing = [
            t for t in current.inputs if t not in produced and not warehouse.table_exists(con, t)
        ]
        if missing:
            builders = " or ".join(sorted({b for t in missing for b in producers(t)}))
            raise StageInputError(
                f"stage {current.name} needs the {', '.join(missing)} table(s), which the "
                f"warehouse does not have yet: run the stage that writes them ({builders}) "
                "first, or `communitybench build-release`, which runs every stage"
            )
        produced.update(current.outputs)


def params_for(stage_: Stage, config: BuildConfig, **extras):
    """A stage's params: its config sections, plus the extras it declares."""
    if "stage_versions" in stage_.params.model_fields:  # the release's (imports every stage)
        extras = {"stage_versions": versions(), **extras}
    return stage_.params.from_config(config, **extras)


def preflight(
    config: BuildConfig, warehouse_path: Path, names: Iterable[str] | None = None, **extras
) -> None:
    """Fail early, before any stage runs: each selected stage's own check (files, credentials)
    and every input table present in the warehouse or written by an earlier selected stage."""
    stages = select(config, names)
    selected = frozenset(s.name for s in stages)
    for current in stages:
        if current.check is not None:
            current.check(params_for(current, config, **extras), selected)
    if Path(warehouse_path).exists():
        with warehouse.connect(warehouse_path, read_only=True) as con:
            check_inputs(con, stages)
    else:
        with warehouse.connect(":memory:") as con:
            check_inputs(con, stages)


def execute(stage_: Stage, config: BuildConfig, warehouse_path: Path, **extras) -> StageResult:
    """Run one stage on the warehouse file: its params from the config, its inputs checked.

    ``extras`` fill the params fields that do not come from the config (e.g. ``releases_dir``).
    Rows written per table are counted here for stages that do not report them.
    """
    params = params_for(stage_, config, **extras)
    started = time.perf_counter()
    with warehouse.connect(warehouse_path) as con:
        check_inputs(con, [stage_])
        result = stage_.run(con, params)
        rows = dict(result.rows) or {t: warehouse.row_count(con, t) for t in stage_.outputs}
    return replace(result, rows=rows, seconds=round(time.perf_counter() - started, 3))


def run_inline(
    config: BuildConfig, warehouse_path: Path, names: Iterable[str], **extras
) -> list[StageResult]:
    """The named stages in this process, in order, without a Prefect flow run.

    For local work whose size is smaller than a flow run's cost: with no Prefect server running,
    a flow run starts Prefect's ephemeral API server in a subprocess first (3 s on an idle
    machine, 15 s on a loaded one), longer than ingesting a 400k-comment dump. Same preflight,
    same ``execute`` per stage as the flow's tasks; what is lost is the Prefect run record and
    its artifacts (``communitybench ingest --flow`` keeps them).
    """
    preflight(config, warehouse_path, names, **extras)
    return [execute(s, config, Path(warehouse_path), **extras) for s in select(config, names)]


def reuse_decision(config: BuildConfig, warehouse_path: Path, **extras) -> dict:
    """Whether the latest release was built from these very inputs (``stages/release.py``)."""
    release = import_module("communitybench.stages.release")
    params = params_for(release.STAGE, config, **extras)
    with warehouse.connect(warehouse_path) as con:
        return release.reuse_decision(con, params)


def carry(
    stage_: Stage, config: BuildConfig, warehouse_path: Path, *, previous: str, **extras
) -> StageResult:
    """The result of a reusable stage that did not run: nothing changed since ``previous``.

    A stage with its own ``carry`` runs it (the release republishes ``previous``'s files under a
    new version); the others report the work the warehouse carries over.
    """
    if stage_.carry is not None:
        return stage_.carry(params_for(stage_, config, **extras), previous)
    note = f"inputs unchanged since {previous}: not run"
    with warehouse.connect(warehouse_path) as con:
        work = stage_.carried_work(con) if stage_.carried_work else ()
    return StageResult(
        name=stage_.name,
        version=stage_.version,
        work=tuple(Work(w.unit, computed=0, reused=w.reused, note=note) for w in work),
        notes=() if work else (note,),
        details={"carried_from": previous},
    )


def record_reuse(
    warehouse_path: Path, results: list[StageResult], *, build_id: str, started_at
) -> list[dict]:
    """Append this build's ``stage_reuse`` rows (one per work entry of every result)."""
    rows = reuse_rows(results)
    schema = schemas.load_schema("stage_reuse")
    started = started_at.astimezone(UTC).replace(tzinfo=None)
    stored = [{"build_id": build_id, "started_at": started, **r} for r in rows]
    table = pa.Table.from_pylist(stored, schema=schemas.arrow_schema(schema))
    with warehouse.connect(warehouse_path) as con:
        con.execute(schemas.ddl(schema))  # a log: appended, never replaced
        con.register("_stage_reuse", table)
        con.execute("insert into stage_reuse by name select * from _stage_reuse")
        con.unregister("_stage_reuse")
    return rows
