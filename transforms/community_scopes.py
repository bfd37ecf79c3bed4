"""Per-scope reuse for the communities stage: which scopes are unchanged, and merging their rows.

A scope whose fingerprint (member ids, vectors, every clustering setting; see
``transforms.communities.scope_fingerprints``) equals the stored one, and whose stored rows are
all still there, keeps its ``communities`` and ``memberships`` rows byte for byte; only the
other scopes are clustered, and both are merged here into what clustering every scope would
write (rows in scope order, lineage in communities order).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc


def reusable_scopes(stored: list[tuple[str, str, bool]], prints: dict[str, str]) -> list[str]:
    """Scopes whose stored fingerprint equals ``prints`` and whose stored rows are complete.

    Args:
        stored: (scope, fingerprint, complete) of every stored scope.
        prints: This build's fingerprint per scope.
    """
    return sorted(
        s for s, fingerprint, complete in stored if complete and prints.get(s) == fingerprint
    )


def merge_reused(
    stored: dict[str, pa.Table], built: dict[str, pa.Table], kept: pl.DataFrame, reused: list[str]
) -> dict[str, pa.Table]:
    """This build's tables with the reused scopes' stored rows added, unchanged.

    Args:
        stored: The stored ``communities`` and ``memberships`` rows (storage order), conformed to
            their schemas.
        built: The freshly clustered ``communities``, ``memberships`` and ``community_lineage``.
        kept: Lineage rows of the reused communities (``kept_lineage``).
        reused: The reused scopes.
    """
    if not reused:
        return built
    out = {}
    for name in ("communities", "memberships"):
        mine = stored[name].filter(pc.is_in(stored[name]["scope"], pa.array(reused)))
        both = pa.concat_tables([mine, built[name]])
        out[name] = both.take(pc.sort_indices(both, sort_keys=[("scope", "ascending")]))  # stable
    rows = pl.concat([kept.drop("provisional_id"), pl.from_arrow(built["community_lineage"])])
    position = {c: i for i, c in enumerate(out["communities"]["community_id"].to_pylist())}
    vanished = pl.col("status") == "vanished"
    current = rows.filter(~vanished)  # in communities order, as matching every scope writes it
    current = current.sort(current["community_id"].replace_strict(position, return_dtype=pl.Int64))
    out["community_lineage"] = pl.concat([current, rows.filter(vanished)]).to_arrow()
    return out


def scope_rows(
    prints: dict[str, str],
    clustered_at: dict[str, datetime],
    reused: list[str],
    tables: dict,
    now: datetime,
) -> dict[str, list]:
    """``community_scopes`` columns: reused scopes keep their stored ``clustered_at``, the
    scopes clustered now get ``now``.

    Args:
        prints: This build's fingerprint per scope.
        clustered_at: The stored clustering time per scope.
        reused: The scopes reused unchanged.
        tables: The merged ``communities`` and ``memberships``.
        now: This run's time.
    """
    members = Counter(tables["memberships"]["scope"].to_pylist())
    found = Counter(tables["communities"]["scope"].to_pylist())
    return {
        "scope": list(prints),
        "fingerprint": list(prints.values()),
        "members": [members[s] for s in prints],
        "communities": [found[s] for s in prints],
        "clustered_at": [clustered_at[s] if s in reused else now for s in prints],
    }


def summarize_scopes(memberships: pl.DataFrame, lineage: pl.DataFrame) -> dict:
    """Communities per scope, their sizes and the noise share (the report's figures).

    Args:
        memberships: ``scope`` and ``community_id`` (null = noise) per member.
        lineage: ``status`` per community (kept | new | vanished).
    """
    scopes = []
    for (scope,), part in memberships.sort("scope").group_by("scope", maintain_order=True):
        sizes = part.drop_nulls("community_id").group_by("community_id").len()["len"]
        noise = int(part["community_id"].is_null().sum())
        scopes.append(
            {
                "scope": scope,
                "members": part.height,
                "communities": len(sizes),
                "sizes": sorted(sizes.to_list(), reverse=True),
                "noise": noise,
                "noise_share": round(noise / part.height, 4) if part.height else 0.0,
            }
        )
    total = memberships.height
    noise = int(memberships["community_id"].is_null().sum())
    return {
        "members": total,
        "communities": sum(s["communities"] for s in scopes),
        "noise": noise,
        "noise_share": round(noise / total, 4) if total else 0.0,
        "scopes": scopes,
        "lineage": dict(lineage.group_by("status").len().sort("status").iter_rows()),
    }
