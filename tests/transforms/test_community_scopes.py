"""transforms.community_scopes: which scopes are reused, and merging their stored rows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pyarrow as pa

from transforms.community_matching import LINEAGE_SCHEMA, CommunitySet, kept_lineage
from transforms.community_scopes import merge_reused, reusable_scopes, scope_rows, summarize_scopes

EARLIER, NOW = datetime(2026, 1, 1), datetime(2026, 2, 1)


def test_only_unchanged_complete_scopes_are_reused():
    stored = [("a", "fa", True), ("b", "fb", True), ("c", "fc", False), ("d", "fd", True)]
    prints = {"a": "fa", "b": "fb2", "c": "fc", "e": "fe"}
    # b changed, c's stored rows are incomplete, d has no members now, e is new
    assert reusable_scopes(stored, prints) == ["a"]
    assert reusable_scopes([], prints) == []


def communities(*rows: tuple[str, str]) -> pa.Table:
    return pa.table({"community_id": [c for c, _ in rows], "scope": [s for _, s in rows]})


def memberships(*rows: tuple[str, str, str | None]) -> pa.Table:
    return pa.table(
        {
            "member_id": [m for m, _, _ in rows],
            "scope": [s for _, s, _ in rows],
            "community_id": pa.array([c for *_, c in rows], pa.string()),
        }
    )


def lineage(*rows: tuple) -> pa.Table:
    frame = pl.DataFrame(list(rows), schema=LINEAGE_SCHEMA, orient="row")
    return frame.drop("provisional_id").to_arrow()


STORED = {
    "communities": communities(("c_a1", "a"), ("c_b1", "b"), ("c_c1", "c")),
    "memberships": memberships(
        ("m1", "a", "c_a1"), ("m2", "a", None), ("m3", "b", "c_b1"), ("m4", "c", "c_c1")
    ),  # fmt: skip
}
# scope b was clustered again: c_b1 vanished, c_b2 is new; scope c was clustered as well
BUILT = {
    "communities": communities(("c_b2", "b"), ("c_c1", "c")),
    "memberships": memberships(("m5", "b", "c_b2"), ("m4", "c", "c_c1")),
    "community_lineage": lineage(
        ("c_b2", "c_b2", "b", "new", None, None, 0.0, None, 1, None),
        ("c_c1", "c_c1", "c", "kept", "c_c1", "jaccard", 1.0, 1.0, 1, 1),
        ("c_b1", None, "b", "vanished", None, None, 0.0, None, None, 1),
    ),
}
KEPT = kept_lineage(CommunitySet(["c_a1"], ["a"], [["m1"]], np.array([[1.0, 0.0]])))


def test_reused_rows_are_merged_in_scope_order_unchanged():
    out = merge_reused(STORED, BUILT, KEPT, ["a"])
    assert (
        out["communities"].to_pylist()
        == communities(("c_a1", "a"), ("c_b2", "b"), ("c_c1", "c")).to_pylist()
    )
    assert (
        out["memberships"].to_pylist()
        == memberships(
            ("m1", "a", "c_a1"), ("m2", "a", None), ("m5", "b", "c_b2"), ("m4", "c", "c_c1")
        ).to_pylist()
    )
    # lineage in communities order, as matching every scope writes it; vanished ones last
    rows = pl.from_arrow(out["community_lineage"]).select("community_id", "status", "jaccard")
    assert rows.rows() == [
        ("c_a1", "kept", 1.0),
        ("c_b2", "new", 0.0),
        ("c_c1", "kept", 1.0),
        ("c_b1", "vanished", 0.0),
    ]


def test_nothing_reused_is_the_built_tables():
    assert merge_reused(STORED, BUILT, KEPT.clear(), []) is BUILT


def test_scope_rows_keep_the_clustering_time_of_reused_scopes():
    tables = merge_reused(STORED, BUILT, KEPT, ["a"])
    prints = {"a": "fa", "b": "fb", "c": "fc"}
    # b was clustered before too, but again now
    out = scope_rows(prints, {"a": EARLIER, "b": EARLIER}, ["a"], tables, NOW)
    assert out == {
        "scope": ["a", "b", "c"],
        "fingerprint": ["fa", "fb", "fc"],
        "members": [2, 1, 1],
        "communities": [1, 1, 1],
        "clustered_at": [EARLIER, NOW, NOW],
    }


def test_summary_counts_communities_sizes_and_noise_per_scope():
    found = pl.DataFrame(
        {
            "scope": ["b", "a", "a", "a", "b", "a"],
            "community_id": ["c_b", "c_1", None, "c_1", None, "c_2"],
        }
    )
    status = pl.DataFrame({"status": ["new", "kept", "kept", "vanished"]})
    assert summarize_scopes(found, status) == {
        "members": 6,
        "communities": 3,
        "noise": 2,
        "noise_share": round(2 / 6, 4),
        "scopes": [
            {
                "scope": "a",
                "members": 4,
                "communities": 2,
                "sizes": [2, 1],
                "noise": 1,
                "noise_share": 0.25,
            },
            {
                "scope": "b",
                "members": 2,
                "communities": 1,
                "sizes": [1],
                "noise": 1,
                "noise_share": 0.5,
            },
        ],  # fmt: skip
        "lineage": {"kept": 2, "new": 1, "vanished": 1},
    }
