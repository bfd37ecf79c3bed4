"""Stage ``tasks``: option sets + distributions + profiles → the four task tables.

PI (the community's favourite option; needs a margin), DP (the distribution; needs a
non-degenerate one), CCG (the query and the community's most-endorsed replies as references) and
CI (which of K candidate profiles produced the distribution: the true community plus the nearest
communities by centroid and random ones). Instance ids hash the instance's inputs, so an
unchanged instance keeps its id across rebuilds (``transforms/tasks.py``).
"""

from __future__ import annotations

import json

import warehouse
from communitybench.config import TasksConfig
from communitybench.stage import Stage, StageParams, StageResult, Table, Work
from transforms import labels, tasks

TABLES = tuple(f"task_{t}" for t in tasks.TASKS)


class Params(StageParams):
    tasks: TasksConfig


def run(con, params: Params) -> StageResult:
    """Rebuild task_pi, task_dp, task_ccg and task_ci."""
    t = params.tasks
    option_sets = warehouse.query(con, "int_instance_inputs").pl().to_dicts()
    replies = warehouse.query(con, "int_endorsed_replies").pl().to_dicts()
    profiles = {
        c: json.loads(p)
        for c, p in con.table("profiles").select("community_id, profile").fetchall()
    }
    published = (
        con.table("communities")
        .filter("centroid is not null and published")
        .select("community_id, centroid, level, parent_id")
        .fetchall()
    )
    centroids = {c: v for c, v, _, _ in published}
    parents = {c: (level, parent) for c, _, level, parent in published}
    rows, skipped = tasks.build_instances(
        option_sets,
        profiles=profiles,
        references=tasks.top_references(replies, n=t.ccg_references),
        centroids=centroids,
        parents=parents,
        pi_margin=t.pi_margin,
        ci_candidates=t.ci_candidates,
        ci_hard=t.ci_hard,
        seed=t.seed,
    )
    kept = _kept_instances(con, rows)
    warehouse.replace_tables(
        con,
        {
            f"task_{task}": labels.rows_to_frame(rows[task], f"task_{task}").to_arrow()
            for task in tasks.TASKS
        },
    )
    counts = tasks.count_instances(rows)
    total, reused = sum(counts["per_task"].values()), sum(kept.values())
    table = Table(
        "task instances per community",
        ("community", *(task.upper() for task in tasks.TASKS)),
        tuple((c, *n.values()) for c, n in counts["per_community"].items())
        + tuple((f"level {lv}", *n.values()) for lv, n in counts["per_level"].items())
        + (("total", *counts["per_task"].values()),),
    )
    return StageResult(
        name="tasks",
        version=tasks.TASKS_VERSION,
        work=(
            Work(
                "instances",
                computed=total - reused,
                reused=reused,
                note="instance ids the previous build had vs new ones",
            ),
        ),
        dropped={
            f"{task}:{reason}": n for task, why in skipped.items() for reason, n in why.items()
        },
        tables=(table,),
        details={
            "version": tasks.TASKS_VERSION,
            **counts,
            "instances_kept": kept,
            "skipped": skipped,
        },
    )


def _kept_instances(con, rows: dict[str, list[dict]]) -> dict:
    """Per task, this build's instances whose id (a hash of their inputs) the previous had."""
    kept = {}
    for task in tasks.TASKS:
        before = set()
        if warehouse.table_exists(con, f"task_{task}"):
            before = {r[0] for r in con.table(f"task_{task}").select("instance_id").fetchall()}
        kept[task] = sum(row["instance_id"] in before for row in rows[task])
    return kept


def carried_work(con) -> tuple[Work, ...]:
    return (Work("instances", reused=sum(warehouse.row_count(con, t) for t in TABLES)),)


STAGE = Stage(
    name="tasks",
    version=tasks.TASKS_VERSION,
    params=Params,
    run=run,
    doc="the PI, DP, CCG and CI task tables",
    inputs=(
        "option_sets",
        "distributions",
        "profiles",
        "communities",
        "stg_comments",
        "stg_submissions",
    ),
    outputs=TABLES,
    reusable=True,
    carried_work=carried_work,
)
