"""Stage ``communities``: member vectors → HDBSCAN communities per scope, with stable ids.

Each scope (a subreddit, or the whole forum for scope 'global') is clustered on its own
(``transforms/communities.py``: PCA, then hdbscan / fast_hdbscan / cuML). A scope whose
fingerprint (member ids, vectors, every clustering setting) is unchanged since the last run keeps
its rows byte for byte (``transforms/community_scopes.py``); the other scopes are clustered and
their communities matched to the previous build's, so a community that persists keeps its id
(``transforms/community_matching.py``). The result equals clustering every scope from scratch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow as pa

import schemas
import warehouse
from communitybench.config import CommunitiesConfig, EmbedConfig
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms.communities import COMMUNITIES_VERSION, assign_communities, scope_fingerprints
from transforms.community_matching import CommunitySet, kept_lineage, match_communities
from transforms.community_scopes import merge_reused, reusable_scopes, scope_rows
from transforms.embed_text import EMBED_TEXT_VERSION
from transforms.members import MEMBERS_VERSION
from transforms.vectors import vector_column, vectors_from_arrow

TABLES = ("communities", "memberships", "community_lineage", "community_scopes")


class Params(StageParams):
    embed: EmbedConfig
    communities: CommunitiesConfig

    def shaping(self) -> dict:
        """Everything that shapes a community, recorded in its ``params`` JSON."""
        com = self.communities
        return {
            "model": self.embed.model,
            "revision": self.embed.revision,
            "embed_text_version": EMBED_TEXT_VERSION,
            "members_version": MEMBERS_VERSION,
            "communities_version": COMMUNITIES_VERSION,
            "pca_dim": com.pca_dim,
            "min_cluster_size": com.min_cluster_size,
            "min_samples": com.min_samples,
            "selection_method": com.selection_method,
        }


def run(con, params: Params) -> StageResult:
    """Cluster the scopes whose inputs changed, keep ids that persist, write the marts."""
    com = params.communities
    members = con.table("members").order("scope, member_id").to_arrow_table()
    frame = pl.from_arrow(members.drop(["vector"]))
    vectors = vectors_from_arrow(members["vector"])
    prints = scope_fingerprints(frame, vectors, params={**params.shaping(), "backend": com.backend})
    stored = _stored_scopes(con)
    reused = reusable_scopes([(s, f, c) for s, f, _, c in stored], prints)
    changed = ~frame["scope"].is_in(reused)
    memberships, found, centroids = assign_communities(
        frame.filter(changed),
        vectors[changed.to_numpy()] if len(vectors) else vectors,
        backend=com.backend,
        pca_dim=com.pca_dim,
        min_cluster_size=com.min_cluster_size,
        min_samples=com.min_samples,
        selection_method=com.selection_method,
    )
    previous = _previous(con)
    kept = previous.filter(pl.col("scope").is_in(reused))
    lineage = match_communities(
        _community_set(previous.filter(~pl.col("scope").is_in(reused))),
        _found_set(found, memberships, centroids),
        min_jaccard=com.match_min_jaccard,
        min_cosine=com.match_min_cosine,
        reserved=frozenset(kept["community_id"].to_list()),
    )
    final = {  # vanished rows have no provisional id; noise (null) must stay null
        p: c
        for p, c in zip(lineage["provisional_id"], lineage["community_id"], strict=True)
        if p is not None
    }
    tables = _mart_tables(found, memberships, centroids, lineage, final, params)
    stored_rows = {name: _stored_rows(con, name) for name in ("communities", "memberships")}
    tables = merge_reused(stored_rows, tables, kept_lineage(_community_set(kept)), reused)
    clustered_at = {s: at for s, _, at, _ in stored}
    columns = scope_rows(prints, clustered_at, tables, datetime.now(UTC).replace(tzinfo=None))
    tables["community_scopes"] = pa.table(columns, schema=_arrow("community_scopes"))
    warehouse.replace_tables(con, tables)
    return _result(tables, reused, sorted(set(prints) - set(reused)), com.backend)


def _arrow(name: str) -> pa.Schema:
    return schemas.arrow_schema(schemas.load_schema(name))


def _stored_scopes(con) -> list[tuple]:
    """(scope, fingerprint, clustered_at, complete) of the last run (none on a first build)."""
    if not all(warehouse.table_exists(con, t) for t in ("community_scopes", *TABLES[:2])):
        return []
    return warehouse.query(con, "int_stored_scopes").fetchall()


def _stored_rows(con, name: str) -> pa.Table:
    """A table's stored rows in storage order, with its schema's columns (nullable)."""
    schema = _arrow(name)
    nullable = pa.schema([f.with_nullable(True) for f in schema])
    if not warehouse.table_exists(con, name):
        return nullable.empty_table()
    return con.table(name).to_arrow_table().select(schema.names).cast(nullable)


def _previous(con) -> pl.DataFrame:
    """The communities of the build in the warehouse (empty on a first build)."""
    if not all(warehouse.table_exists(con, t) for t in TABLES[:2]):
        return pl.DataFrame(
            schema={
                "community_id": pl.String,
                "scope": pl.String,
                "centroid": pl.List(pl.Float32),
                "member_ids": pl.List(pl.String),
            }
        )
    return warehouse.query(con, "int_previous_communities").pl()


def _community_set(frame: pl.DataFrame) -> CommunitySet:
    centroids = (
        vectors_from_arrow(frame["centroid"].to_arrow())
        if frame.height
        else np.zeros((0, 0), np.float32)
    )
    return CommunitySet(
        frame["community_id"].to_list(),
        frame["scope"].to_list(),
        frame["member_ids"].to_list(),
        centroids,
    )


def _found_set(found: pl.DataFrame, memberships: pl.DataFrame, centroids) -> CommunitySet:
    grouped = (
        memberships.filter(pl.col("community_id").is_not_null())
        .group_by("community_id")
        .agg(pl.col("member_id").sort())
    )
    by_id = dict(grouped.iter_rows())
    ids = found["community_id"].to_list()
    return CommunitySet(ids, found["scope"].to_list(), [by_id[c] for c in ids], centroids)


def _rename(final: dict) -> pl.Expr:
    return pl.col("community_id").replace_strict(final, default=None, return_dtype=pl.String)


def _mart_tables(found, memberships, centroids, lineage, final, params: Params) -> dict:
    shaping = params.shaping()
    communities = found.with_columns(
        _rename(final),
        backend=pl.lit(params.communities.backend),
        params=pl.Series(
            [
                json.dumps({**shaping, "pca_dim_used": d, "scope_members": n}, sort_keys=True)
                for d, n in zip(found["pca_dim"], found["scope_members"], strict=True)
            ],
            dtype=pl.String,
        ),
    ).select(
        "community_id", "scope", "size", "persistence", "backend", "params", "mean_probability"
    )
    return {
        "communities": communities.to_arrow().append_column("centroid", vector_column(centroids)),
        "memberships": memberships.with_columns(_rename(final)).to_arrow(),
        "community_lineage": lineage.drop("provisional_id").to_arrow(),
    }


def communities_summary(memberships: pl.DataFrame, lineage: pl.DataFrame) -> dict:
    """Communities per scope, their sizes and the noise share (the report's figures)."""
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
        "version": COMMUNITIES_VERSION,
        "members": total,
        "communities": sum(s["communities"] for s in scopes),
        "noise": noise,
        "noise_share": round(noise / total, 4) if total else 0.0,
        "scopes": scopes,
        "lineage": dict(lineage.group_by("status").len().sort("status").iter_rows()),
    }


def _result(tables: dict, reused: list[str], clustered: list[str], backend: str) -> StageResult:
    summary = communities_summary(
        pl.from_arrow(tables["memberships"]), pl.from_arrow(tables["community_lineage"])
    )
    summary.update(backend=backend, scopes_reused=reused, scopes_clustered=clustered)
    lineage = summary["lineage"]
    ids = ", ".join(f"{k} {v}" for k, v in lineage.items()) or "none"
    table = Table(
        f"communities per scope ({backend}; ids vs the previous build: {ids})",
        ("scope", "members", "communities", "sizes", "noise share"),
        tuple(
            (
                s["scope"],
                s["members"],
                s["communities"],
                _sizes(s["sizes"]),
                f"{s['noise_share']:.1%}",
            )
            for s in summary["scopes"]
        ),
    )
    return StageResult(
        name="communities",
        version=COMMUNITIES_VERSION,
        work=(
            Work(
                "scopes",
                computed=len(clustered),
                reused=len(reused),
                note="re-clustered: " + (", ".join(clustered) or "none"),
            ),
            Work(
                "communities",
                computed=lineage.get("new", 0),
                reused=lineage.get("kept", 0),
                note=f"ids kept vs new; {lineage.get('vanished', 0)} vanished",
            ),
        ),
        dropped={"noise": summary["noise"]},
        notes=(
            f"{summary['communities']} communities over {summary['members']:,} members; "
            f"noise share {summary['noise_share']:.1%}",
        ),
        tables=(table,),
        details=summary,
    )


def _sizes(sizes: list[int]) -> str:
    return (", ".join(map(str, sizes[:12])) + (" …" if len(sizes) > 12 else "")) or "-"


def carried(con) -> tuple[Work, ...]:
    scopes = con.table("memberships").aggregate("count(distinct scope)").fetchall()[0][0]
    return (
        Work("scopes", reused=scopes),
        Work("communities", reused=warehouse.row_count(con, "communities")),
    )


STAGE = Stage(
    name="communities",
    version=COMMUNITIES_VERSION,
    params=Params,
    run=run,
    doc="HDBSCAN per scope over member vectors; stable ids; unchanged scopes reused",
    inputs=("members",),
    outputs=TABLES,
    reusable=True,
    carried=carried,
)
