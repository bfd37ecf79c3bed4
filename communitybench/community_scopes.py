"""Per-scope reuse for the communities stage: fingerprints and the rows a reused scope keeps.

``community_scopes`` stores, per scope, the fingerprint of what clustered it (member ids, their
vectors, every clustering setting; ``transforms.communities.scope_fingerprints``). A scope whose
fingerprint is unchanged, and whose stored rows are all still there, keeps its ``communities``
and ``memberships`` rows byte for byte; ``communitybench.communities.run_communities`` clusters
only the other scopes and merges both here.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

import schemas
from warehouse import table_exists


def reusable_scopes(con, prints: dict[str, str]) -> list[str]:
    """Scopes whose stored fingerprint equals ``prints`` and whose stored rows are all there."""
    if not all(table_exists(con, t) for t in ("community_scopes", "communities", "memberships")):
        return []
    rows = con.execute(
        "select s.scope, s.fingerprint from community_scopes as s "
        "where s.communities = (select count(*) from communities as c where c.scope = s.scope) "
        "and s.members = (select count(*) from memberships as m where m.scope = s.scope)"
    ).fetchall()
    return sorted(scope for scope, fingerprint in rows if prints.get(scope) == fingerprint)


def with_reused(con, tables: dict, reused: list[str], kept: pl.DataFrame) -> dict:
    """Add the reused scopes' stored rows, unchanged, to this build's tables (scope order)."""
    if not reused:
        return tables
    out = {}
    for name in ("communities", "memberships"):
        stored = con.sql(
            f"select * from {name} where list_contains($s::varchar[], scope) order by rowid",
            params={"s": reused},
        ).to_arrow_table()
        both = pa.concat_tables([_conform(stored, name), _conform(tables[name], name)])
        out[name] = both.take(pc.sort_indices(both, sort_keys=[("scope", "ascending")]))  # stable
    rows = pl.concat([kept.drop("provisional_id"), pl.from_arrow(tables["community_lineage"])])
    position = {c: i for i, c in enumerate(out["communities"]["community_id"].to_pylist())}
    vanished = pl.col("status") == "vanished"
    current = rows.filter(~vanished)  # in communities order, as matching every scope writes it
    current = current.sort(current["community_id"].replace_strict(position, return_dtype=pl.Int64))
    out["community_lineage"] = pl.concat([current, rows.filter(vanished)]).to_arrow()
    return out


def _conform(table: pa.Table, name: str) -> pa.Table:
    """Columns and types of the table's schema file (nullable, so concatenation works)."""
    schema = schemas.arrow_schema(schemas.load_schema(name))
    return table.select(schema.names).cast(pa.schema([f.with_nullable(True) for f in schema]))


def scope_rows(con, prints: dict, reused: list[str], tables: dict) -> pa.Table:
    """``community_scopes``: a reused scope keeps its clustered_at, the others get now."""
    stored = {}
    if reused:
        stored = dict(
            con.execute(
                "select scope, clustered_at from community_scopes where list_contains(?, scope)",
                [reused],
            ).fetchall()
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    members = Counter(tables["memberships"]["scope"].to_pylist())
    found = Counter(tables["communities"]["scope"].to_pylist())
    columns = {
        "scope": list(prints),
        "fingerprint": list(prints.values()),
        "members": [members[s] for s in prints],
        "communities": [found[s] for s in prints],
        "clustered_at": [stored.get(s, now) for s in prints],
    }
    return pa.table(columns, schema=schemas.arrow_schema(schemas.load_schema("community_scopes")))
