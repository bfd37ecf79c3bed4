"""Sub-community variants on a built warehouse: identity (raw vs forum-centred) x bond weight.

Reads ``members`` and the reply graph (``int_member_replies``, ``int_member_threads``) of a
warehouse whose members stage has run, clusters every scope with each variant (the communities
stage's own code, ``assign_communities``) and prints per variant: sub-communities found and
published, noise, median stability, seconds, and with ``--truth`` (a demo forum's truth.json)
the adjusted Rand index between planted and found sub-communities over the planted, affiliated
members (truth ``members`` author -> community; null = unaffiliated), noise counted as its own
label. The bare baseline is the same clustering without stability runs.

    .venv/bin/python bench/levels.py WAREHOUSE [--truth truth.json] [--scope subreddit]
        [--variants raw:0 centred:0 centred:0.5] [--min-cluster-size 10] [--min-samples 5]
"""

from __future__ import annotations

import argparse
import json
import time

import polars as pl
from sklearn.metrics import adjusted_rand_score

import communitybench  # noqa: F401  (offline defaults, NUMBA_CACHE_DIR)
import warehouse
from transforms.communities import LevelSettings, assign_communities
from transforms.vectors import vectors_from_arrow


def planted_ari(found: pl.DataFrame, members: pl.DataFrame, truth: dict) -> tuple[float, int]:
    """ARI over members whose author is planted in a community; (ari, members compared)."""
    planted = {a: c for a, c in truth["members"].items() if c}
    subs = found.filter(pl.col("level") == "sub").join(
        members.select("member_id", "scope", "author"), on=["member_id", "scope"]
    )
    rows = [
        (planted[a], c)
        for a, c in subs.select("author", "community_id").iter_rows()
        if a in planted
    ]
    if not rows:
        return float("nan"), 0
    labels = {}
    found_labels = [
        labels.setdefault(c or f"noise{i}", len(labels)) for i, (_, c) in enumerate(rows)
    ]
    return adjusted_rand_score([p for p, _ in rows], found_labels), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse")
    parser.add_argument("--truth")
    parser.add_argument("--scope", default="subreddit")
    parser.add_argument("--variants", nargs="+", default=["raw:0", "centred:0", "centred:0.5"])
    parser.add_argument("--backend", default="hdbscan")
    parser.add_argument("--pca-dim", type=int, default=30)
    parser.add_argument("--min-cluster-size", type=int, default=10)
    parser.add_argument("--min-samples", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-stability", type=float, default=0.5)
    args = parser.parse_args()
    truth = json.load(open(args.truth, encoding="utf-8")) if args.truth else None
    con = warehouse.connect(args.warehouse, read_only=True)
    table = con.table("members").order("scope, member_id").to_arrow_table()
    members = pl.from_arrow(table.drop(["vector"]))
    vectors = vectors_from_arrow(table["vector"])
    replies = warehouse.query(con, "int_member_replies", {"scope": args.scope}).pl()
    threads = warehouse.query(con, "int_member_threads", {"scope": args.scope}).pl()
    print(
        f"{members.height} members in {members['scope'].n_unique()} scopes; "
        f"{replies.height} reply pairs; {threads.height} member-thread pairs"
    )
    print(
        f"{'variant':>13} {'runs':>4} {'forums':>6} {'subs':>5} {'published':>9} {'noise':>6} "
        f"{'stab med':>8} {'seconds':>7} {'ARI':>6} {'n':>5}"
    )
    for variant in args.variants:
        identity, weight = variant.split(":")
        for runs in sorted({0, args.runs}):
            levels = LevelSettings(
                centre=identity == "centred",
                bond_weight=float(weight),
                stability_runs=runs,
                min_stability=args.min_stability if runs else 0.0,
            )
            started = time.perf_counter()
            found, communities, _ = assign_communities(
                members.select("member_id", "scope"),
                vectors,
                backend=args.backend,
                pca_dim=args.pca_dim,
                min_cluster_size=args.min_cluster_size,
                min_samples=args.min_samples,
                levels=levels,
                replies=replies,
                threads=threads,
            )
            seconds = time.perf_counter() - started
            subs = communities.filter(pl.col("level") == "sub")
            sub_rows = found.filter(pl.col("level") == "sub")
            noise = sub_rows["community_id"].is_null().mean() if sub_rows.height else 0.0
            stab = subs["stability"].median() if subs.height else float("nan")
            ari, n = planted_ari(found, members, truth) if truth else (float("nan"), 0)
            print(
                f"{variant:>13} {runs:>4} {communities.height - subs.height:>6} {subs.height:>5} "
                f"{int(subs['published'].sum()):>9} {noise:>6.1%} {stab or float('nan'):>8.3f} "
                f"{seconds:>7.2f} {ari:>6.3f} {n:>5}",
                flush=True,
            )


if __name__ == "__main__":
    main()
