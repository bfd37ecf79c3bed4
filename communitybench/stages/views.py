"""Stage ``views``: the documented analyst views (``warehouse/views/v_*.sql``).

Each view's description and column descriptions come from its contract
(``schemas/views/v_*.toml``) and are stored as DuckDB comments, so ``duckdb_columns()`` shows
them. A view whose source tables do not exist yet is skipped.
"""

from __future__ import annotations

import warehouse
from communitybench.stage import Stage, StageParams, StageResult, Work

VIEWS_VERSION = "views_v2"  # v2: contracts in schemas/views/


class Params(StageParams):
    pass


def run(con, params: Params) -> StageResult:
    """Create or replace every view whose source tables exist."""
    summary = warehouse.create_views(con)
    skipped = summary["skipped"]
    notes = tuple(
        f"{name} skipped: no {', '.join(missing)} yet" for name, missing in skipped.items()
    )
    return StageResult(
        name="views",
        version=VIEWS_VERSION,
        work=(Work("views", computed=len(summary["created"])),),
        dropped={"missing_source_tables": len(skipped)} if skipped else {},
        notes=notes,
        details={"version": VIEWS_VERSION, **summary},
    )


STAGE = Stage(
    name="views",
    version=VIEWS_VERSION,
    params=Params,
    run=run,
    doc="documented analyst views (v_*) over the tables that exist",
)
