"""Stage ``labels`` on the demo build (real embeddings and HDBSCAN communities): thread owners,
option sets and distributions against the demo's planted truth and the staged votes."""

from __future__ import annotations

import numpy as np
import pytest

import warehouse
from communitybench import pipeline
from communitybench.config import EmbedConfig
from tests.fixtures import demo
from tests.fixtures.contracts import contract_violations
from tests.fixtures.tasks import LABEL_TABLES
from transforms.exposure import exposure_features
from warehouse import StageInputError

# per owned thread: its kept top-level replies, and how many of them have no embedding
REPLIES_OF_OWNED = """
    with owned as (select distinct thread_id from thread_ownership where is_owner),
    vectors as (
        select t.item_id from texts t join embeddings e using (text_hash)
        where e.model = ? and e.revision = ?
    )
    select owned.thread_id, count(c.id), count(c.id) filter (where v.item_id is null)
    from owned
    join stg_comments c on c.link_id = owned.thread_id and c.drop_reason is null and c.is_top_level
    left join vectors v on v.item_id = 't1_' || c.id
    group by 1
"""


def test_recovers_the_planted_owners_and_distributions(demo_build):
    planted = demo.planted_of(demo_build.warehouse, demo_build.truth)
    assert sorted(planted.values()) == sorted(demo_build.truth["communities"])  # one to one
    figures = demo.recovery(demo_build.warehouse, demo_build.truth)
    print(f"\nseed {demo.SEED} recovery: {figures}")
    assert figures["owner_agreement"] >= 0.9 and figures["owner_recall"] >= 0.9
    # exposure planted on the votes; measured 0.0036 (bits) before the demo planted it
    assert figures["mean_jsd"] <= 0.05 and figures["pi_agreement"] >= 0.9
    labels = demo_build.results["labels"].details
    assert labels["estimators"] == {"dirichlet_score_exposure": labels["option_sets"]}


def test_ownership_follows_the_share_rule(demo_build):
    t = demo_build.config.tasks
    rows = demo.read(
        demo_build.warehouse,
        "select thread_id || ':' || level, list(share order by share desc), "
        "list(n_members order by share desc), bool_or(is_owner), "
        "count(*) filter (where is_owner), any_value(n_thread_members), sum(n_members) "
        "from thread_ownership group by thread_id, level",
    )
    assert rows and {r[0].split(":")[1] for r in rows} == {"forum", "sub"}
    for _thread, shares, counts, owned, n_owners, n_thread, total in rows:
        assert n_owners <= 1 and total == n_thread
        assert shares == pytest.approx([n / n_thread for n in counts])
        unique_top = len(shares) == 1 or shares[0] > shares[1]
        assert owned == (unique_top and shares[0] >= t.own_share and counts[0] >= t.own_min)
    # member-commenters counted independently from staging, members and memberships (per level:
    # ownership is decided among the communities of one level)
    members = dict(
        demo.read(
            demo_build.warehouse,
            "select c.link_id || ':' || ms.level, count(distinct ms.member_id) from stg_comments c "
            "join stg_submissions s on s.id = c.link_id and s.drop_reason is null "
            "join members m on m.author = c.author and m.scope = c.subreddit "
            "join memberships ms using (member_id, scope) "
            "where c.drop_reason is null and ms.community_id is not null "
            "group by c.link_id, ms.level",
        )
    )
    assert {r[0]: r[5] for r in rows} == members


def test_option_sets_and_distributions_follow_the_staged_scores(demo_build):
    t, wh = demo_build.config.tasks, demo_build.warehouse
    staged = dict(
        demo.read(wh, "select 't1_' || id, score from stg_comments where drop_reason is null")
    )
    replies = demo.read(
        wh,
        "select link_id, list('t1_' || id) from stg_comments "
        "where drop_reason is null and is_top_level group by 1",
    )
    replies = {thread: set(ids) for thread, ids in replies}
    owner = dict(
        demo.read(
            wh,
            "select thread_id || ':' || level, community_id from thread_ownership where is_owner",
        )
    )
    rows = demo.read(
        wh,
        "select o.thread_id || ':' || o.level, o.community_id, o.option_ids, o.scores, "
        "d.distribution, d.estimator, d.label, d.margin, d.n_votes, d.degenerate, "
        "o.expected_exposure, d.distribution_raw, d.estimator_raw, d.label_raw, o.exposure_ratio "
        "from option_sets o "
        "join distributions d using (option_set_id, thread_id, community_id, level, option_ids)",
    )
    assert len(rows) == demo_build.results["labels"].rows["option_sets"] > 600
    options = {}  # a thread owned at both levels offers the same options at both
    for row in rows:
        key, community, ids, scores, p, estimator, label, margin, n_votes, degenerate = row[:10]
        exposure, raw, estimator_raw, label_raw, ratio = row[10:]
        thread = key.split(":")[0]
        assert owner[key] == community and set(ids) <= replies[thread]
        assert options.setdefault(thread, ids) == ids
        assert t.k_min <= len(ids) <= t.k and scores == [staged[o] for o in ids]
        share = t.a0 + np.maximum(scores, 0)  # Dirichlet posterior mean of the vote share
        assert estimator_raw == "dirichlet_score" and raw == pytest.approx(
            list(share / share.sum())
        )
        assert label_raw == int(np.argmax(raw))
        # votes per unit of expected exposure, rescaled to the same total
        per = np.maximum(scores, 0) / np.array(exposure)
        adjusted = t.a0 + per * np.maximum(scores, 0).sum() / per.sum()
        assert estimator == "dirichlet_score_exposure"
        assert p == pytest.approx(list(adjusted / adjusted.sum()))
        assert max(exposure) / min(exposure) == pytest.approx(ratio)
        assert ratio <= t.max_exposure_ratio + 1e-9
        top = sorted(p, reverse=True)
        assert label == int(np.argmax(p)) and margin == pytest.approx(top[0] - top[1])
        assert n_votes == sum(max(s, 0) for s in scores)
        assert degenerate == (n_votes < t.min_votes or max(p) > t.dp_max_share)


def test_stage_result_counts_what_the_data_holds(demo_build):
    result, t, wh = demo_build.results["labels"], demo_build.config.tasks, demo_build.warehouse
    embed = demo_build.config.embed
    owned = demo.read(wh, REPLIES_OF_OWNED, [embed.model, embed.revision])
    usable = [n - missing for _, n, missing in owned]
    n_sets, set_threads, threads, n_owned, degenerate = demo.read(
        wh,
        "select (select count(*) from option_sets), (select count(distinct thread_id) from "
        "option_sets), count(distinct thread_id), "
        "count(distinct thread_id) filter (where is_owner), "
        "(select count(*) filter (where degenerate) from distributions) from thread_ownership",
    )[0]
    per_level = dict(
        demo.read(
            wh,
            "select level, {'owned_threads': count(distinct thread_id) filter (where is_owner), "
            "'option_sets': (select count(*) from option_sets o where o.level = t.level)} "
            "from thread_ownership t group by level order by level",
        )
    )
    assert result.name == "labels" and result.version == "labels_v5"
    assert (
        result.counts("option_sets").computed == n_sets and result.counts("option_sets").reused == 0
    )
    assert dict(result.dropped) == {
        "too_few_candidates": sum(0 < n < t.k_min for n in usable),
        "no_comparable_subset": sum(n >= t.k_min for n in usable) - set_threads,
        "replies_without_embedding": sum(missing for _, _, missing in owned),
    }
    with warehouse.connect(wh, read_only=True) as con:
        assert dict(result.rows) == {name: warehouse.row_count(con, name) for name in LABEL_TABLES}
        assert [v for name in LABEL_TABLES for v in contract_violations(con, name)] == []
    assert result.notes == (
        f"owned threads: {n_owned:,} of {threads:,}; option sets: {n_sets:,}; "
        f"per level: {per_level}; estimators: {{'dirichlet_score_exposure': {n_sets}}}",
    )
    assert result.tables == ()
    details = result.details
    assert (details["owned_threads"], details["threads_with_members"]) == (n_owned, threads)
    assert details["option_sets_skipped"] == {
        k: v for k, v in result.dropped.items() if k != "replies_without_embedding"
    }
    assert details["degenerate"] == degenerate


def test_replies_without_embeddings_for_the_model_fail_clearly(demo_build, demo_copy):
    config = demo_build.config.model_copy(update={"embed": EmbedConfig(revision="not-built")})
    with pytest.raises(StageInputError, match="no reply has an embedding for model .* 'not-built'"):
        demo.run(demo_copy, config, "labels")


def test_missing_inputs_name_the_stages_that_build_them(demo_build, wh_path):
    with pytest.raises(StageInputError) as failure:
        pipeline.execute(pipeline.stage("labels"), demo_build.config, wh_path)
    message = str(failure.value)
    assert message.startswith("stage labels needs the stg_comments, stg_submissions, texts")
    for producer in ("staging", "texts", "embeddings", "members", "communities"):
        assert producer in message


# per option of every option set: its stored exposure inputs and what staging says
OPTION_TIMES = """
    with replies as (
        select 't1_' || c.id as option_id, length(c.body) as length,
            epoch(c.created_utc) - epoch(s.created_utc) as delay_s,
            row_number() over (partition by c.link_id order by c.created_utc, c.id) - 1 as rank
        from stg_comments c join stg_submissions s on s.id = c.link_id
        where c.drop_reason is null and c.is_top_level
    ),
    o as (
        select unnest(option_ids) as option_id, unnest(delay_s) as delay_s,
            unnest(reply_rank) as reply_rank, unnest(length) as length
        from option_sets
    )
    select o.delay_s, r.delay_s, o.reply_rank, r.rank, o.length, r.length
    from o join replies r using (option_id)
"""


def test_options_carry_their_exposure_inputs_and_the_fit_follows_the_planted_decay(demo_build):
    wh = demo_build.warehouse
    rows = demo.read(wh, OPTION_TIMES)
    assert rows and all(a == b and c == d and e == f for a, b, c, d, e, f in rows)
    models = demo.read(wh, "select forum, n_threads, coefficients from exposure_model order by 1")
    subreddits = demo.read(wh, "select distinct subreddit from stg_submissions order by 1")
    assert [m[0] for m in models] == ["*", *(s for (s,) in subreddits)]
    # planted: exposure falls by e per hour and as (1 + rank)^-0.5 (plus a mild length effect
    # the model leaves out); every forum's fit falls from the first reply after 10 min to the
    # fifth after 2 h within 25% of the planted log ratio
    grid = exposure_features([600, 7200], [0, 4], [6, 6])
    planted = -(7200 - 600) / 3600 - 0.5 * np.log(5)
    for forum, n_threads, beta in models:
        drop = float(np.diff(grid @ np.array(beta))[0])
        assert n_threads > 50 and 1.25 * planted < drop < 0.75 * planted, (forum, drop, planted)
