"""Stages ``members`` and ``communities``: member vectors, HDBSCAN, stable ids, lineage.

Each function opens the warehouse itself, takes plain keyword arguments and returns a JSON-able
summary (``communitybench.stages`` style); the logic lives in ``transforms.members``,
``transforms.communities`` and ``transforms.community_matching``. ``community_scopes`` holds each
scope's input fingerprint, so a rebuild re-clusters only the scopes whose inputs changed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl

import warehouse
from communitybench.community_scopes import reusable_scopes, scope_rows, with_reused
from communitybench.embeddings import (
    run_embeddings,
    run_texts,
    vector_column,
    vectors_from_arrow,
)
from communitybench.settings import get_settings
from transforms.communities import COMMUNITIES_VERSION, assign_communities, scope_fingerprints
from transforms.community_matching import CommunitySet, kept_lineage, match_communities
from transforms.embed_text import EMBED_TEXT_VERSION
from transforms.members import MEMBERS_VERSION, build_member_vectors
from warehouse import replace_tables, require_tables, table_exists

TEXT_VECTORS_SQL = """
select t.author, t.subreddit, e.vector,
from texts as t
join embeddings as e
    on e.text_hash = t.text_hash and e.model = $model and e.revision = $revision
where t.author is not null
order by t.item_id
"""

HINT = "run `communitybench communities` (texts → embeddings → members → communities)"


def run_members(
    warehouse_path: Path,
    *,
    model: str,
    revision: str,
    min_texts: int,
    scope: str,
    allow_dev_key: bool,
) -> dict:
    """Rebuild ``members``: one mean vector per (author, scope) with >= min_texts texts."""
    key = get_settings().pseudonym_key_value(allow_dev_default=allow_dev_key)
    with warehouse.connect(warehouse_path) as con:
        require_tables(con, "texts", "embeddings", hint=HINT)
        params = {"model": model, "revision": revision}
        rows = con.sql(TEXT_VECTORS_SQL, params=params).to_arrow_table()
        texts = pl.from_arrow(rows.select(["author", "subreddit"]))
        members, vectors = build_member_vectors(
            texts, vectors_from_arrow(rows["vector"]), min_texts=min_texts, scope=scope, key=key
        )
        table = members.to_arrow().append_column("vector", vector_column(vectors))
        replace_tables(con, {"members": table})
    return {
        "version": MEMBERS_VERSION,
        "scope": scope,
        "min_texts": min_texts,
        "texts": texts.height,
        "authors": texts["author"].n_unique(),
        "members": members.height,
        "per_scope": dict(members.group_by("scope").len().sort("scope").iter_rows()),
    }


def run_communities(
    warehouse_path: Path,
    *,
    model: str,
    revision: str,
    backend: str,
    pca_dim: int,
    min_cluster_size: int,
    min_samples: int | None,
    selection_method: str,
    match_min_jaccard: float,
    match_min_cosine: float,
) -> dict:
    """Cluster the scopes whose inputs changed, keep ids that persist, write the marts.

    A scope whose fingerprint (member ids, vectors, every clustering parameter) equals the one
    stored in ``community_scopes`` keeps its communities and memberships rows as they are; only
    the other scopes run HDBSCAN and are matched to their own previous communities. Scopes are
    clustered and matched independently, so the result equals clustering every scope. Matching
    thresholds are not fingerprinted: an unchanged scope's clustering matches itself exactly.
    """
    started = time.perf_counter()
    params = _params(model, revision, pca_dim, min_cluster_size, min_samples, selection_method)
    with warehouse.connect(warehouse_path) as con:
        require_tables(con, "members", hint=HINT)
        members = con.sql("select * from members order by scope, member_id").to_arrow_table()
        frame = pl.from_arrow(members.drop(["vector"]))
        vectors = vectors_from_arrow(members["vector"])
        prints = scope_fingerprints(frame, vectors, params={**params, "backend": backend})
        reused = reusable_scopes(con, prints)
        changed = ~frame["scope"].is_in(reused)
        memberships, found, centroids = assign_communities(
            frame.filter(changed),
            vectors[changed.to_numpy()] if len(vectors) else vectors,
            backend=backend,
            pca_dim=pca_dim,
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            selection_method=selection_method,
        )
        kept = read_previous(con, scopes=reused)
        lineage = match_communities(
            read_previous(con, exclude=reused),
            _community_set(found["community_id"].to_list(), memberships, centroids, found),
            min_jaccard=match_min_jaccard,
            min_cosine=match_min_cosine,
            reserved=frozenset(kept.ids),
        )
        final = {  # vanished rows have no provisional id; noise (null) must stay null
            p: c
            for p, c in zip(lineage["provisional_id"], lineage["community_id"], strict=True)
            if p is not None
        }
        tables = _mart_tables(found, memberships, centroids, lineage, final, backend, params)
        tables = with_reused(con, tables, reused, kept_lineage(kept))
        tables["community_scopes"] = scope_rows(con, prints, reused, tables)
        replace_tables(con, tables)
    summary = communities_summary(
        pl.from_arrow(tables["memberships"]), pl.from_arrow(tables["community_lineage"])
    )
    summary.update(
        backend=backend,
        scopes_reused=reused,
        scopes_clustered=sorted(set(prints) - set(reused)),
        seconds=round(time.perf_counter() - started, 3),
    )
    return summary


def _params(model, revision, pca_dim, min_cluster_size, min_samples, selection_method) -> dict:
    """What shaped a community, recorded in its ``params`` JSON."""
    return {
        "model": model,
        "revision": revision,
        "embed_text_version": EMBED_TEXT_VERSION,
        "members_version": MEMBERS_VERSION,
        "communities_version": COMMUNITIES_VERSION,
        "pca_dim": pca_dim,
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "selection_method": selection_method,
    }


def read_previous(con, *, scopes: list[str] | None = None, exclude=()) -> CommunitySet:
    """The communities of the build in the warehouse (empty on a first build).

    Args:
        scopes: Only these scopes (None: every scope).
        exclude: Leave these scopes out.
    """
    empty = CommunitySet([], [], [], np.zeros((0, 0), dtype=np.float32))
    if not (table_exists(con, "communities") and table_exists(con, "memberships")):
        return empty
    wanted = "true" if scopes is None else "list_contains($scopes::varchar[], scope)"
    prev = con.sql(
        "select community_id, scope, centroid from communities "
        f"where {wanted} and not list_contains($exclude::varchar[], scope) order by community_id",
        params={"exclude": list(exclude), **({} if scopes is None else {"scopes": list(scopes)})},
    ).to_arrow_table()
    members = con.execute(
        "select community_id, list(member_id order by member_id) as ids from memberships "
        "where community_id is not null group by community_id"
    ).fetchall()
    by_id = dict(members)
    ids = prev["community_id"].to_pylist()
    return CommunitySet(
        ids,
        prev["scope"].to_pylist(),
        [by_id.get(c, []) for c in ids],
        vectors_from_arrow(prev["centroid"]),
    )


def _community_set(ids, memberships: pl.DataFrame, centroids, found) -> CommunitySet:
    grouped = (
        memberships.filter(pl.col("community_id").is_not_null())
        .group_by("community_id")
        .agg(pl.col("member_id").sort())
    )
    by_id = dict(grouped.iter_rows())
    return CommunitySet(ids, found["scope"].to_list(), [by_id[c] for c in ids], centroids)


def _rename(final: dict) -> pl.Expr:
    return pl.col("community_id").replace_strict(final, default=None, return_dtype=pl.String)


def _mart_tables(found, memberships, centroids, lineage, final, backend, params) -> dict:
    communities = found.with_columns(
        _rename(final),
        backend=pl.lit(backend),
        params=pl.Series(
            [
                json.dumps({**params, "pca_dim_used": d, "scope_members": n}, sort_keys=True)
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


def embed_kwargs(config) -> dict:
    """Unpack [embed] into run_embeddings keyword arguments."""
    embed = config.embed
    return {
        "model": embed.model,
        "revision": embed.revision,
        "device": embed.device,
        "batch_size": embed.batch_size,
        "cpu_threads": embed.cpu_threads,
    }


def members_kwargs(config) -> dict:
    """Unpack [embed], [members] and the scope into run_members keyword arguments."""
    return {
        "model": config.embed.model,
        "revision": config.embed.revision,
        "min_texts": config.members.min_texts,
        "scope": config.communities.scope,
        # the public development key is acceptable for the synthetic demo forum only
        "allow_dev_key": config.source.kind == "demo",
    }


def communities_kwargs(config) -> dict:
    """Unpack [embed] and [communities] into run_communities keyword arguments."""
    com = config.communities
    return {
        "model": config.embed.model,
        "revision": config.embed.revision,
        "backend": com.backend,
        "pca_dim": com.pca_dim,
        "min_cluster_size": com.min_cluster_size,
        "min_samples": com.min_samples,
        "selection_method": com.selection_method,
        "match_min_jaccard": com.match_min_jaccard,
        "match_min_cosine": com.match_min_cosine,
    }


def build_all(warehouse_path: Path, config, *, progress: bool = True) -> dict:
    """texts → embeddings → members → communities, without Prefect (the CLI path)."""
    return {
        "texts": run_texts(warehouse_path),
        "embeddings": run_embeddings(warehouse_path, **embed_kwargs(config), progress=progress),
        "members": run_members(warehouse_path, **members_kwargs(config)),
        "communities": run_communities(warehouse_path, **communities_kwargs(config)),
    }


def report_markdown(summary: dict) -> str:
    """Markdown report of a build_all / build_communities summary (the Prefect artifact)."""
    emb, com = summary["embeddings"], summary["communities"]
    lines = [
        f"# communities ({com['version']}, backend {com['backend']})",
        "",
        f"- texts: {summary['texts']['texts']:,}; embeddings computed {emb['computed']:,}, "
        f"cached {emb['cached']:,} ({emb['model']} @ {emb['revision']})",
        f"- members: {com['members']:,}; communities: {com['communities']}; "
        f"noise: {com['noise']:,} ({com['noise_share']:.1%})",
        f"- ids vs previous build: {_lineage_text(com['lineage'])}",
        f"- scopes reused unchanged: {len(com.get('scopes_reused', []))}; "
        f"re-clustered: {', '.join(com.get('scopes_clustered', [])) or 'none'}",
        "",
        "| scope | members | communities | sizes | noise share |",
        "|---|---:|---:|---|---:|",
    ]
    for s in com["scopes"]:
        sizes = ", ".join(map(str, s["sizes"])) or "-"
        lines.append(
            f"| {s['scope']} | {s['members']} | {s['communities']} | {sizes} | "
            f"{s['noise_share']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def _lineage_text(lineage: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in lineage.items()) or "none"
