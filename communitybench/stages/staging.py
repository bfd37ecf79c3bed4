"""Stage ``staging``: raw observations → ``stg_submissions`` / ``stg_comments``, every row kept.

The SQL models ``warehouse/staging/stg_*.sql`` take each item's latest observation (a later
``[deleted]`` / ``[removed]`` one marks it gone without erasing its content history) and annotate
``drop_reason``: deleted, removed, takedown, bot, moderator, stickied, too_short, too_long,
duplicate, near_duplicate. Marts read ``where drop_reason is null``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import warehouse
from communitybench.config import BuildConfig, CleanConfig, SourceConfig
from communitybench.settings import get_settings
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms.takedowns import parse_takedowns, taken_down_authors

STAGING_VERSION = "staging_v3"  # v2: takedown drop reason; v3: SE comments are not top-level
TABLES = ("stg_submissions", "stg_comments")


class Params(StageParams):
    clean: CleanConfig
    source: SourceConfig
    takedowns: Path | None = None  # clean.takedowns resolved against the project

    @property
    def allow_dev_key(self) -> bool:
        """The public development pseudonym key is acceptable for the synthetic demo only."""
        return self.source.kind == "demo"

    @classmethod
    def from_config(cls, config: BuildConfig, **extras) -> Params:
        listed = config.clean.takedowns
        resolved = config.resolve(listed) if listed is not None else None
        return super().from_config(config, **{"takedowns": resolved, **extras})


def check_takedowns(path: Path | None) -> None:
    """A configured takedown list must exist (a typo must not silently publish everything)."""
    if path is not None and not Path(path).exists():
        raise FileNotFoundError(f"takedown list {path} (clean.takedowns) does not exist")


def takedown_variables(con, path: Path | None, *, allow_dev_key: bool) -> dict:
    """The authors and item ids a takedown file names (authors matched by name or pseudonym)."""
    if path is None:
        return {"takedown_authors": [], "takedown_items": []}
    check_takedowns(path)
    listed = parse_takedowns(Path(path).read_text(encoding="utf-8"))
    authors = [r[0] for r in warehouse.query(con, "int_raw_authors").fetchall()]
    key = None
    if listed.member_ids:
        key = get_settings().pseudonym_key_value(allow_dev_default=allow_dev_key)
    return {
        "takedown_authors": taken_down_authors(listed, authors, key=key),
        "takedown_items": sorted(listed.items),
    }


def run(con, params: Params) -> StageResult:
    """Rebuild both staging tables; report rows, kept rows and drops per reason."""
    clean = params.clean
    variables = {
        "min_chars": clean.min_chars,
        "max_chars": clean.max_chars,
        "bot_names": list(clean.bot_names),
        "bot_pattern": clean.bot_pattern,
        "bot_allow": list(clean.bot_allow),
        "repeat_threads": clean.repeat_threads,
    }
    warehouse.ensure_tables(con, layer="raw")
    variables.update(takedown_variables(con, params.takedowns, allow_dev_key=params.allow_dev_key))
    rows = {table: warehouse.materialize(con, table, variables=variables) for table in TABLES}
    reasons = warehouse.query(con, "v_drop_reasons").fetchall()  # the analyst view's select
    tables, dropped = {}, Counter()
    for table in TABLES:
        drops = Counter({r[1]: r[2] for r in reasons if r[0] == table and r[1] is not None})
        kept = rows[table] - sum(drops.values())
        tables[table] = {"rows": rows[table], "kept": kept, "dropped": dict(_ranked(drops))}
        dropped.update(drops)
    takedowns = {
        "authors": len(variables["takedown_authors"]),
        "items": len(variables["takedown_items"]),
    }
    table = Table(
        "staging: rows, kept rows and drops per reason",
        ("table", "rows", "kept", "dropped by reason"),
        tuple((name, t["rows"], t["kept"], t["dropped"] or "-") for name, t in tables.items()),
    )
    return StageResult(
        name="staging",
        version=STAGING_VERSION,
        work=(Work("rows", computed=sum(rows.values()), note="rebuilt from the raw observations"),),
        dropped=dict(_ranked(dropped)),
        rows=rows,
        tables=(table,),
        details={"version": STAGING_VERSION, "tables": tables, "takedowns": takedowns},
    )


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    """Most frequent reason first, ties by name."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


STAGE = Stage(
    name="staging",
    version=STAGING_VERSION,
    params=Params,
    run=run,
    doc="latest observation per item, every row kept with a drop_reason (SQL models)",
    inputs=("raw_submissions", "raw_comments"),
    outputs=TABLES,
    check=lambda params, selected: check_takedowns(params.takedowns),
)
