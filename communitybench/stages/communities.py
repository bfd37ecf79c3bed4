"""Stage ``communities``: member vectors → forum and sub-communities per scope, with stable ids.

Each scope (a subreddit, or the whole forum for scope 'global') is clustered on its own
(``transforms/communities.py``: PCA, then Leiden on the member graph, or with
``communities.method = "density"`` hdbscan / fast_hdbscan / cuML). A scope whose
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
from transforms.communities import (
    COMMUNITIES_VERSION,
    LevelSettings,
    assign_communities,
    graph_digests,
    scope_fingerprints,
)
from transforms.community_levels import FORUM, SUB
from transforms.community_matching import CommunitySet, kept_lineage, match_communities
from transforms.community_scopes import (
    merge_reused,
    reusable_scopes,
    scope_rows,
    summarize_scopes,
)
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
            **self.levels().record(),
        }

    def levels(self) -> LevelSettings:
        com = self.communities
        return LevelSettings(
            min_forum_members=com.min_forum_members,
            method=com.method,
            centre=com.centre,
            bond_weight=com.bond_weight,
            knn=com.knn,
            bond_ratio=com.bond_ratio,
            resolution=com.resolution,
            stability_runs=com.stability_runs,
            stability_fraction=com.stability_fraction,
            stability_max_points=com.stability_max_points,
            min_stability=com.min_stability,
            seed=com.seed,
        )


def run(con, params: Params) -> StageResult:
    """Cluster the scopes whose inputs changed, keep ids that persist, write the marts."""
    com = params.communities
    members = con.table("members").order("scope, member_id").to_arrow_table()
    frame = pl.from_arrow(members.drop(["vector"]))
    vectors = vectors_from_arrow(members["vector"])
    replies = warehouse.query(con, "int_member_replies", {"scope": com.scope}).pl()
    threads = warehouse.query(con, "int_member_threads", {"scope": com.scope}).pl()
    prints = scope_fingerprints(
        frame,
        vectors,
        params={**params.shaping(), "backend": com.backend},
        graphs=graph_digests(replies, threads),
    )
    stored = _stored_scopes(con)
    reused = reusable_scopes([(s, f, c) for s, f, _, c in stored], prints)
    changed = ~frame["scope"].is_in(reused)
    clustered = assign_communities(
        frame.filter(changed),
        vectors[changed.to_numpy()] if len(vectors) else vectors,
        backend=com.backend,
        pca_dim=com.pca_dim,
        min_cluster_size=com.min_cluster_size,
        min_samples=com.min_samples,
        selection_method=com.selection_method,
        levels=params.levels(),
        replies=replies,
        threads=threads,
    )
    previous = _previous(con)
    kept = previous.filter(pl.col("scope").is_in(reused))
    tables = _matched_tables(
        clustered, previous.filter(~pl.col("scope").is_in(reused)), kept, params
    )
    if reused:
        tables = _with_reused(con, tables, kept, reused)
    clustered_at = {s: at for s, _, at, _ in stored}
    now = datetime.now(UTC).replace(tzinfo=None)
    columns = scope_rows(prints, clustered_at, reused, tables, now)
    tables["community_scopes"] = pa.table(columns, schema=_arrow("community_scopes"))
    warehouse.replace_tables(con, tables)
    coverage = warehouse.query(con, "int_community_coverage", {"scope": com.scope}).pl()
    clustered = sorted(set(prints) - set(reused))
    method = com.method if com.method == "leiden" else f"{com.method}, {com.backend}"
    return _result(tables, reused, clustered, com.backend, coverage, method=method)


def _matched_tables(clustered: tuple, previous: pl.DataFrame, kept: pl.DataFrame, params) -> dict:
    """The clustered scopes' mart tables, with the ids of the previous communities they continue
    (the reused scopes' ids are reserved)."""
    memberships, found, centroids = clustered
    matched = (found["level"] == SUB) & found["published"]
    lineage = match_communities(
        _community_set(previous),
        _found_set(found.filter(matched), memberships, centroids[matched.to_numpy()]),
        min_jaccard=params.communities.match_min_jaccard,
        min_cosine=params.communities.match_min_cosine,
        reserved=frozenset(kept["community_id"].to_list()),
    )
    final = {  # vanished rows have no provisional id; noise (null) must stay null
        p: c
        for p, c in zip(lineage["provisional_id"], lineage["community_id"], strict=True)
        if p is not None
    }
    final |= {c: c for c in found.filter(~matched)["community_id"]}  # forums, unpublished subs
    return _mart_tables(found, memberships, centroids, lineage, final, params)


def _with_reused(con, tables: dict, kept: pl.DataFrame, reused: list[str]) -> dict:
    """``tables`` plus the reused scopes' stored rows, both in the contract's columns and types
    (stored rows come back from DuckDB, new ones from polars)."""
    merged = ("communities", "memberships")
    stored = {name: _conformed(_stored_rows(con, name), name) for name in merged}
    tables = tables | {name: _conformed(tables[name], name) for name in merged}
    return merge_reused(stored, tables, kept_lineage(_community_set(kept)), reused)


def _arrow(name: str) -> pa.Schema:
    return schemas.arrow_schema(schemas.load_schema(name))


def _stored_scopes(con) -> list[tuple]:
    """(scope, fingerprint, clustered_at, complete) of the last run (none on a first build)."""
    if not (warehouse.table_exists(con, "community_scopes") and _leveled(con)):
        return []
    return warehouse.query(con, "int_stored_scopes").fetchall()


def _stored_rows(con, name: str) -> pa.Table:
    """A table's stored rows in storage order (none when it does not exist)."""
    if not warehouse.table_exists(con, name):
        return _arrow(name).empty_table()
    return con.table(name).to_arrow_table()


def _conformed(table: pa.Table, name: str) -> pa.Table:
    """``table`` with its contract's columns, in order, cast to their types (nullable)."""
    schema = _arrow(name)
    return table.select(schema.names).cast(pa.schema([f.with_nullable(True) for f in schema]))


def _leveled(con) -> bool:
    """Whether the stored communities have levels (built by communities_v2 or later)."""
    if not all(warehouse.table_exists(con, t) for t in TABLES[:2]):
        return False
    columns = con.table("communities").columns + con.table("memberships").columns
    return columns.count("level") == 2


def _previous(con) -> pl.DataFrame:
    """The published sub-communities of the build in the warehouse (empty on a first build)."""
    if not _leveled(con):
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
        memberships.filter(pl.col("community_id").is_not_null() & (pl.col("level") == SUB))
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
        "community_id",
        "scope",
        "level",
        "parent_id",
        "size",
        "persistence",
        "backend",
        "params",
        "mean_probability",
        "stability",
        "published",
    )
    return {
        "communities": communities.to_arrow().append_column("centroid", vector_column(centroids)),
        "memberships": memberships.with_columns(_rename(final)).to_arrow(),
        "community_lineage": lineage.drop("provisional_id").to_arrow(),
    }


def _result(
    tables: dict, reused, clustered, backend: str, coverage: pl.DataFrame, *, method: str
) -> StageResult:
    memberships = pl.from_arrow(tables["memberships"])
    summary = summarize_scopes(
        memberships.filter(pl.col("level") == SUB), pl.from_arrow(tables["community_lineage"])
    )
    summary.update(
        version=COMMUNITIES_VERSION,
        backend=backend,
        method=method,  # what found the sub-communities ("leiden", or "density, <backend>")
        scopes_reused=reused,
        scopes_clustered=clustered,
        levels=_levels(pl.from_arrow(tables["communities"].drop(["centroid"])), coverage),
    )
    levels = summary["levels"]
    lineage = summary["lineage"]
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
            f"{levels[FORUM]['published']} forum communities; {summary['communities']} stable "
            f"sub-communities over {summary['members']:,} members (found "
            f"{levels[SUB]['found']}, {levels[SUB]['unstable']} below min_stability); noise "
            f"share {summary['noise_share']:.1%}; coverage of kept comments: forum "
            f"{levels[FORUM]['coverage']:.1%}, sub {levels[SUB]['coverage']:.1%}",
        ),
        tables=(_scope_table(summary, method),),
        details=summary,
    )


def _levels(communities: pl.DataFrame, coverage: pl.DataFrame) -> dict:
    """Per level: communities found and published, sub stability, coverage of kept comments."""
    covered = {r["level"]: r for r in coverage.iter_rows(named=True)}
    out = {}
    for level in (FORUM, SUB):
        part = communities.filter(pl.col("level") == level)
        published = part.filter("published")
        stab = part["stability"].drop_nulls()
        row = covered.get(level, {})
        out[level] = {
            "found": part.height,
            "published": published.height,
            "unstable": part.height - published.height,
            "members_in_published": int(published["size"].sum() or 0),
            "stability": sorted((round(x, 3) for x in stab.to_list()), reverse=True),
            "kept_comments": int(row.get("kept_comments") or 0),
            "covered_comments": int(row.get("covered_comments") or 0),
            "coverage": float(row.get("coverage") or 0.0),
        }
    return out


def _scope_table(summary: dict, method: str) -> Table:
    ids = ", ".join(f"{k} {v}" for k, v in summary["lineage"].items()) or "none"
    return Table(
        f"communities per scope ({method}; ids vs the previous build: {ids})",
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


def _sizes(sizes: list[int]) -> str:
    return (", ".join(map(str, sizes[:12])) + (" …" if len(sizes) > 12 else "")) or "-"


def carried_work(con) -> tuple[Work, ...]:
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
    doc="forum communities per scope; stable sub-communities by Leiden over identity + bond",
    inputs=("members", "stg_comments"),
    outputs=TABLES,
    reusable=True,
    carried_work=carried_work,
)
