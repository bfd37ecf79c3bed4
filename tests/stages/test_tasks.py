"""Stage ``tasks`` on the demo build: the four task tables against their contracts, the planted
favourites and the staged texts, and the ``communitybench tasks`` command through the flow."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import warehouse
from communitybench.stages.tasks import TABLES
from tests.fixtures import demo
from tests.fixtures.contracts import contract_violations
from tests.fixtures.tasks import TASK_TABLES

# the option sets each task keeps, derived from the labels tables (not from the stage)
EXPECTED_COUNTS = """
    select
        count(*) filter (where d.margin >= $pi_margin and d.label_robust),
        count(*) filter (where not d.degenerate),
        count(*) filter (where exists (
            select 1 from stg_comments c where c.link_id = d.thread_id and c.is_top_level
            and c.drop_reason is null and c.score > 0)),
        count(*) filter (where not d.degenerate),
        count(*) filter (where d.margin < $pi_margin),
        count(*) filter (where d.degenerate),
        count(*) filter (where d.margin >= $pi_margin and not d.label_robust)
    from distributions d
"""


def test_recovers_the_planted_favourites(demo_build):
    figures = demo.recovery(demo_build.warehouse, demo_build.truth)
    assert figures["pi_agreement"] >= 0.9 and figures["pi_clear"] >= 200


def test_task_tables_keep_their_contracts(demo_build):
    counts = demo_build.results["tasks"].details["per_task"]
    # PI keeps labels that survive the exposure adjustment: fewer than the other tasks
    assert counts["pi"] > 250 and all(counts[t] > 300 for t in ("dp", "ccg", "ci")), counts
    per_community = demo_build.results["tasks"].details["per_community"]
    forums = {c["subreddit"] for c in demo_build.truth["communities"].values()}
    assert len(per_community) == len(demo_build.truth["communities"]) + len(forums)
    per_level = demo_build.results["tasks"].details["per_level"]
    assert sorted(per_level) == ["forum", "sub"]  # every task at both levels
    assert all(n > 0 for level in per_level.values() for n in level.values()), per_level
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        assert [v for t in TASK_TABLES for v in contract_violations(con, t)] == []
        sums = con.execute(
            "select min(list_sum(distribution)), max(list_sum(distribution)) from task_dp"
        ).fetchall()[0]
        ci = con.execute("select community_id, candidate_ids, label from task_ci").fetchall()
        level = {
            c: {"level": lv, "parent_id": parent}
            for c, lv, parent in con.execute(
                "select community_id, level, parent_id from communities"
            ).fetchall()
        }
        options = con.execute(
            "with o as (select unnest(option_ids) as id, unnest(option_texts) as body "
            "from task_pi) select count(*), count(*) filter (where c.body = o.body), "
            "(select sum(k) from task_pi) from o left join stg_comments c on 't1_' || c.id = o.id"
        ).fetchall()[0]
    assert sums == pytest.approx((1.0, 1.0))
    assert options[0] == options[1] == options[2]  # every option text = its staged body
    k = demo_build.config.tasks.ci_candidates
    forums = sum(lv["level"] == "forum" for lv in level.values())
    hard = demo_build.config.tasks.ci_hard
    for community, candidates, label in ci:
        assert candidates.count(community) == 1 and candidates[label] == community
        mine = level[community]
        assert {level[c]["level"] for c in candidates} == {mine["level"]}  # one level
        if mine["level"] == "forum":
            assert len(candidates) == len(set(candidates)) == min(k, forums)
            continue
        assert len(candidates) == len(set(candidates)) == k
        siblings = [c for c in candidates if c != community and level[c] == mine]
        assert len(siblings) == hard  # the hard distractors: sub-communities of its forum
        assert len(candidates) - 1 - len(siblings) >= 1  # and others, from other forums


def test_stage_result_counts_what_the_data_holds(demo_build):
    result, t = demo_build.results["tasks"], demo_build.config.tasks
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        pi, dp, ccg, ci, low_margin, degenerate, not_robust = con.execute(
            EXPECTED_COUNTS, {"pi_margin": t.pi_margin}
        ).fetchall()[0]
        n_sets = warehouse.row_count(con, "option_sets")
        rows = {table: warehouse.row_count(con, table) for table in TABLES}
        owners = con.execute(
            "select community_id, count(*) from task_dp group by 1 order by 1"
        ).fetchall()
    assert rows == dict(zip(TABLES, (pi, dp, ccg, ci), strict=True)) == dict(result.rows)
    assert result.counts("instances").computed == pi + dp + ccg + ci
    assert result.counts("instances").reused == 0  # the first build had no instances
    dropped = {
        "pi:margin_below_pi_margin": low_margin,
        "pi:label_not_robust_to_exposure": not_robust,
        "dp:degenerate": degenerate,
        "ci:degenerate": degenerate,
        "ccg:no_endorsed_reply": n_sets - ccg,
    }
    assert dict(result.dropped) == {k: v for k, v in dropped.items() if v}  # reasons that occur
    table = result.tables[0]
    assert table.columns == ("community", "PI", "DP", "CCG", "CI")
    assert table.rows[-1] == ("total", pi, dp, ccg, ci)
    assert [(r[0], r[2]) for r in table.rows if r[0].startswith("c_")] == owners
    by_level = {r[0]: r[1:] for r in table.rows if r[0].startswith("level ")}
    assert set(by_level) == {"level forum", "level sub"}
    assert [sum(col) for col in zip(*by_level.values(), strict=True)] == [pi, dp, ccg, ci]


def test_exports_carry_no_usernames(demo_build):
    names = [name.lower() for name in demo_build.truth["members"]]
    with warehouse.connect(demo_build.warehouse, read_only=True) as con:
        for table in ("profiles", *TASK_TABLES):
            blob = json.dumps(con.execute(f"select * from {table}").fetchall(), default=str)
            assert not [name for name in names if name in blob.lower()], table


def _config_file(tmp_path, forum) -> str:
    path = tmp_path / "configs" / "demo_month1.toml"
    path.parent.mkdir()
    path.write_text(
        f'[source]\nkind = "demo"\n\n[source.demo]\nout_dir = "{forum}"\nseed = {demo.SEED}\n'
        "months = 1\n"
    )
    return str(path)


def test_cli_rebuild_prints_counts_and_is_deterministic(
    demo_build, demo_copy, tmp_path, prefect_harness, monkeypatch
):
    from flows.cli import app

    for name in ("BASE_URL", "MODEL", "API_KEY"):  # extractive profiles whatever the shell says
        monkeypatch.delenv(f"COMMUNITYBENCH_LLM_{name}", raising=False)
    args = [
        "--config",
        _config_file(tmp_path, demo_build.config.source.demo.out_dir),
        "--warehouse",
        str(demo_copy),
    ]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*args, "tasks"])
    assert result.exit_code == 0, result.output
    owned = demo.read(
        demo_copy, "select count(distinct thread_id) from thread_ownership where is_owner"
    )[0][0]
    counts = demo_build.results["tasks"].details["per_task"]
    assert f"owned threads: {owned:,}" in result.output and "extractive because" in result.output
    n = len(demo_build.truth["communities"]) + 3  # and the three forums
    assert f"profiles: {n} (extractive {n})" in result.output
    assert f"instances: 0 computed, {sum(counts.values()):,} reused" in result.output
    total = r"\s*│\s*".join(["total", *(f"{counts[t]:,}" for t in ("pi", "dp", "ccg", "ci"))])
    assert re.search(total, result.output), result.output
    for table in TASK_TABLES:
        query = f"select instance_id from {table} order by 1"
        assert demo.read(demo_build.warehouse, query) == demo.read(demo_copy, query)


def test_cli_without_inputs_fails_with_a_clear_message(demo_build, tmp_path):
    from flows.cli import app

    empty = tmp_path / "empty.duckdb"
    args = [
        "--config",
        _config_file(tmp_path, demo_build.config.source.demo.out_dir),
        "--warehouse",
        str(empty),
    ]
    failed = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*args, "tasks"])
    assert failed.exit_code == 2, failed.output
    assert "stage labels needs the stg_comments, stg_submissions" in failed.output
    assert "run the stage that writes them" in failed.output and "staging" in failed.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "scale", "min_recall"), [(11, 1.0, 0.9), (23, 1.0, 0.9), (5, 0.3, 0.8)]
)
def test_recovery_on_unseen_seeds(tmp_path, seed, scale, min_recall):
    """Other demo forums through every stage (real embeddings and HDBSCAN communities)."""
    from communitybench.sources.demo.forum import write_demo_forum

    forum, wh = tmp_path / f"demo{seed}", tmp_path / f"wh{seed}.duckdb"
    write_demo_forum(forum, seed=seed, scale=scale)
    results = demo.run(wh, demo.demo_config(forum, seed=seed), *demo.BUILD_STAGES)
    figures = demo.recovery(wh, demo.load_truth(forum))
    print(f"\nseed {seed} (scale {scale}) recovery: {figures}; {results['tasks'].rows}")
    assert figures["owner_agreement"] >= 0.9 and figures["owner_recall"] >= min_recall
    assert figures["mean_jsd"] <= 0.05 and figures["pi_agreement"] >= 0.9
