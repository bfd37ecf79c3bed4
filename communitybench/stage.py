"""The stage as the unit: what a stage is (``Stage``), takes (``StageParams``) and returns
(``StageResult``).

A stage is one module under ``communitybench/stages/`` that defines ``Params`` (the config
sections it reads, as typed fields), ``run(con, params) -> StageResult`` and one ``STAGE``
describing it (name, version, input and output tables). ``communitybench.stages.STAGES`` lists
them in pipeline order; ``communitybench.pipeline`` runs them.

A result says what the stage computed and what it reused (``Work``, in the stage's own units:
files, texts, scopes, ...), what it dropped and why, and how many rows it wrote per table. Stages
may add small tables (per file, per scope, per community) and one-line notes; the one renderer
(``communitybench.render``) shows any result, and the ``stage_reuse`` log is written from
``Work`` rows, never from stage-specific dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import duckdb
from pydantic import BaseModel, ConfigDict

from communitybench.config import BuildConfig


@dataclass(frozen=True)
class Work:
    """Units of work a stage computed this run and units it took over from earlier work."""

    unit: str
    computed: int = 0
    reused: int = 0
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A small table a stage shows (per file, per scope, per community)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class StageResult:
    """What one run of one stage did.

    Attributes:
        name: The stage.
        version: The version constant of the logic that shaped its data.
        work: Computed and reused units (one entry per unit the stage counts).
        dropped: Rows or lines left out, by reason.
        rows: Rows written per table.
        seconds: Wall time of the run.
        notes: One-line remarks (why profiles are extractive, where the release went, ...).
        tables: Stage-specific detail tables.
        details: Machine-readable extras for callers (JSON-able); never parsed by the renderer.
    """

    name: str
    version: str
    work: tuple[Work, ...] = ()
    dropped: Mapping[str, int] = field(default_factory=dict)
    rows: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def counts(self, unit: str) -> Work:
        """The work row of ``unit`` (KeyError naming the units there are)."""
        for work in self.work:
            if work.unit == unit:
                return work
        raise KeyError(f"{self.name} counts no {unit!r} (it counts {[w.unit for w in self.work]})")


def by_name(results: Iterable[StageResult]) -> dict[str, StageResult]:
    """Results keyed by stage name (a stage run twice keeps its last result)."""
    return {r.name: r for r in results}


def reuse_rows(results: Iterable[StageResult]) -> list[dict]:
    """One ``stage_reuse`` row (stage, unit, reused, computed, note) per work entry."""
    return [
        {
            "stage": r.name,
            "unit": w.unit,
            "reused": int(w.reused),
            "computed": int(w.computed),
            "note": w.note or None,
        }
        for r in results
        for w in r.work
    ]


class StageParams(BaseModel):
    """A stage's parameters: fields named after config sections are filled from the config.

    ``from_config`` is the one place a stage's settings are read: a field called ``embed`` gets
    ``config.embed``, ``communities`` gets ``config.communities``, and so on; any other field comes
    from the caller's extras (paths the environment decides, such as the releases folder). A stage
    overrides ``from_config`` only to derive a value (e.g. a path resolved against the project).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @classmethod
    def from_config(cls, config: BuildConfig, **extras) -> Self:
        sections = {
            name: getattr(config, name)
            for name in cls.model_fields
            if name in type(config).model_fields and name not in extras
        }
        wanted = {k: v for k, v in extras.items() if k in cls.model_fields}
        return cls(**sections, **wanted)


def always(config: BuildConfig) -> bool:
    """The default ``Stage.when``: the stage runs for every source."""
    return True


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline (each stage module defines one as ``STAGE``).

    Attributes:
        name: What the CLI and ``stage_reuse`` call it.
        version: The version constant of the logic that shapes its data (in the manifest).
        params: Its ``StageParams`` class.
        run: ``run(con, params) -> StageResult``.
        doc: One line: what it does.
        inputs: Tables it reads (checked before it runs; a missing one names its producer).
        outputs: Tables it writes.
        when: Whether it runs for a config (sources run only for their ``source.kind``).
        reusable: Skipped when the inputs of the release are unchanged (see flows/build_release).
        carried_work: For a skipped stage, the work the warehouse carries over (counted there).
        carry: What a skipped stage does instead, when more than counting: ``carry(params,
            previous)`` returns its result (the release republishes the previous files).
        retries: Prefect retries of its task (network stages: an outage, not a user error).
        retry_delay: Seconds before a retry, from the config.
        check: ``check(params, selected)`` raises a clear error for unusable params before any
            stage of a run starts (a missing dump file, takedown list or credential);
            ``selected`` names the stages of the run (a file an earlier one writes is fine).
    """

    name: str
    version: str
    params: type[StageParams]
    run: Callable[[duckdb.DuckDBPyConnection, Any], StageResult]
    doc: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    when: Callable[[BuildConfig], bool] = always
    reusable: bool = False
    carried_work: Callable[[duckdb.DuckDBPyConnection], tuple[Work, ...]] | None = None
    carry: Callable[[Any, str], StageResult] | None = None
    retries: int = 0
    retry_delay: Callable[[BuildConfig], float] | None = None
    check: Callable[[Any, frozenset[str]], None] | None = None
