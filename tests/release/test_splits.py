"""communitybench/release/splits.py on the demo build's task tables: every instance gets one
split, grouped by thread (or community), and the leakage gates hold or block."""

from __future__ import annotations

import numpy as np
import pytest

from communitybench.release.splits import split_gates
from communitybench.release.versions import ReleaseError
from tests.fixtures.demo import read
from tests.fixtures.release import TASKS, assign_splits
from transforms.splits import split_of

INSTANCES = " union all ".join(
    f"select '{t}' as task, instance_id, thread_id, community_id from task_{t}" for t in TASKS
)


def test_every_instance_gets_the_split_of_its_thread(split_warehouse, demo_build):
    instances = read(split_warehouse, f"select * from ({INSTANCES}) order by all")
    splits = read(
        split_warehouse,
        "select task, instance_id, thread_id, community_id, group_key, split "
        "from instance_splits order by all",
    )
    assert [row[:4] for row in splits] == instances  # one row per instance, same ids
    fractions = demo_build.config.splits.fractions
    for *_, thread, _, group, split in splits:
        assert split == split_of(group, seed=0, fractions=fractions)
        assert group == thread or group < thread  # merged into a near-duplicate's smaller id
    per_thread = read(
        split_warehouse,
        "select thread_id from instance_splits group by thread_id having count(distinct split) > 1",
    )
    assert per_thread == []
    assert {s for *_, s in splits} == {"train", "dev", "test"}


def test_gates_count_each_task_split_and_same_seed_gives_the_same_splits(
    split_warehouse, demo_copy, demo_build
):
    gates = assign_splits(demo_copy, demo_build.config)
    counts = read(
        demo_copy, "select task || '/' || split, count(*) from instance_splits group by 1"
    )
    assert gates["counts"] == dict(sorted(counts))
    assert gates["near_duplicate_check"] is True
    assert gates["threads_in_two_splits"] == gates["near_duplicate_queries_across_splits"] == []
    query = "select * from instance_splits order by task, instance_id"
    assert read(demo_copy, query) == read(split_warehouse, query)


def test_unseen_community_split_groups_by_community(demo_copy, demo_build):
    gates = assign_splits(demo_copy, demo_build.config, group_by="community")
    assert gates["threads_in_two_splits"] == []
    subs = read(
        demo_copy,
        "select distinct s.community_id, s.split from instance_splits s join communities c "
        "on c.community_id = s.community_id and c.level = 'sub'",
    )
    assert subs and len({c for c, _ in subs}) == len(subs)  # one split per sub-community
    # a thread with sub-level instances is grouped under that sub at both levels, others
    # under their forum
    rows = read(
        demo_copy,
        "select s.group_key, coalesce(o.community_id, s.community_id) from instance_splits s "
        "left join (select distinct i.thread_id, i.community_id from instance_splits i "
        "join communities c on c.community_id = i.community_id and c.level = 'sub') o "
        "using (thread_id)",
    )
    assert rows and all(g == expected for g, expected in rows)


def test_without_every_query_vector_the_near_duplicate_check_is_skipped(demo_copy, demo_build):
    [(query,)] = read(demo_copy, "select query_id from task_pi order by instance_id limit 1")
    import warehouse

    with warehouse.connect(demo_copy) as con:
        con.execute(
            "delete from embeddings where text_hash in "
            "(select text_hash from texts where item_id = ?)",
            [query],
        )
    gates = assign_splits(demo_copy, demo_build.config)
    assert gates["near_duplicate_check"] is False


def test_a_thread_in_two_splits_blocks_the_release():
    threads = [("s1", "t3_s1"), ("s2", "t3_s2")]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ReleaseError, match='"threads_in_two_splits": \\["s1"\\]'):
        split_gates(
            ["s1", "s1", "s2"], ["train", "test", "dev"], threads, vectors, ["pi"] * 3, 0.95
        )
    near = np.array([[1.0, 0.0], [1.0, 0.001]])
    with pytest.raises(
        ReleaseError, match='"near_duplicate_queries_across_splits": \\[\\["s1", "s2"'
    ):
        split_gates(["s1", "s2"], ["train", "test"], threads, near, ["pi"] * 2, 0.95)
