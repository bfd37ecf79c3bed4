"""Real threads: does "pick the earliest reply" still answer PI after the exposure adjustment?

The shared real samples (../shared/data/reddit) go through every stage up to the task tables;
then, on the same warehouse, the labels and tasks stages again with the exposure guard off
(``max_exposure_ratio`` unbounded, PI read from the raw-vote label and margin): the pipeline as
it was before exposure was modelled. Earliest-is-the-PI-label rates are computed here from the
staged posting times, not from the pipeline's own per-option columns. Skipped when the shared
data is not there.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from communitybench import pipeline
from communitybench.settings import get_settings
from tests.fixtures import demo
from tests.fixtures.data import shared_path
from tests.fixtures.real import airline_dumps, college_dumps

STAGES = demo.BUILD_STAGES  # every stage up to tasks
# two airlines as tests/stages/test_communities_real.py; two college subreddits' latest threads
SAMPLES = {
    "airline": ("airline-subreddits-2024/data", ["frontierairlines", "HawaiianAirlines"]),
    "college": ("college-subreddits-2021/dat", ["CollegeAdvice", "CollegeMajors"]),
}
COLLEGE_THREADS = 80  # per subreddit
COMMUNITIES = {"scope": "global", "pca_dim": 10, "min_cluster_size": 10, "min_samples": 3}
KEY = "test-key-for-real-data"

# per PI instance (or per option set, raw label and margin): the label and the options'
# posting times from staging, in option order
PI_OPTIONS = """
    with o as (
        select instance_id, label, unnest(option_ids) as option_id,
            generate_subscripts(option_ids, 1) as pos
        from task_pi
    )
    select any_value(o.label), list(epoch(c.created_utc) order by o.pos)
    from o join stg_comments c on 't1_' || c.id = o.option_id
    group by o.instance_id
"""
RAW_SETS = """
    with o as (
        select option_set_id, label_raw, margin_raw, unnest(option_ids) as option_id,
            generate_subscripts(option_ids, 1) as pos
        from distributions
    )
    select any_value(o.label_raw), any_value(o.margin_raw),
        list(epoch(c.created_utc) order by o.pos)
    from o join stg_comments c on 't1_' || c.id = o.option_id
    group by o.option_set_id
"""


def dumps(sample: str, root):
    path, subreddits = SAMPLES[sample]
    folder = shared_path("reddit", *path.split("/"))
    if sample == "airline":
        return airline_dumps(folder, root, subreddits)
    return college_dumps(folder, root, subreddits, threads=COLLEGE_THREADS)


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def real(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"labels_real_{request.param}")
    files = dumps(request.param, root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMMUNITYBENCH_PSEUDONYM_KEY", KEY)
        get_settings.cache_clear()
        config = demo.config_for(files, communities=COMMUNITIES)
        wh = root / "wh.duckdb"
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no fallback to the dev key
            results = {}
            for stage in pipeline.select(config, STAGES):
                results[stage.name] = pipeline.execute(stage, config, wh)
        after = demo.read(wh, PI_OPTIONS)
        # the same warehouse, options chosen without the exposure guard (the earlier pipeline)
        unguarded = config.tasks.model_copy(update={"max_exposure_ratio": 1e9})
        before_config = config.model_copy(update={"tasks": unguarded})
        pipeline.execute(pipeline.stage("labels"), before_config, wh)
        margin = config.tasks.pi_margin
        before = [r for r in demo.read(wh, RAW_SETS) if r[1] >= margin]
    get_settings.cache_clear()
    details = results["labels"].details
    return {"sample": request.param, "after": after, "before": before, "labels": details}


def earliest_rate(rows: list[tuple[int, list[float]]]) -> tuple[float, float, int]:
    """Share of instances whose label is the earliest option, chance (mean 1/k), n."""
    hits = [label == int(np.argmin(times)) for label, times in rows]
    return float(np.mean(hits)), float(np.mean([1 / len(t) for _, t in rows])), len(rows)


def test_earliest_option_is_within_chance_on_real_pi(real):
    after = earliest_rate(real["after"])
    before = earliest_rate([(label, times) for label, _, times in real["before"]])
    figures = {"before": before, "after": after, "exposure": real["labels"]["exposure_model"]}
    print(f"\n{real['sample']} earliest-is-PI-label (rate, chance, n):", json.dumps(figures))
    rate, chance, n = after
    if before[2] == 0:
        pytest.skip(f"{real['sample']}: no community owns a thread of this sample (no PI to audit)")
    assert n >= 10, "too few real PI instances to measure"
    assert rate <= chance + 0.15
    assert before[0] > before[1] + 0.15  # the shortcut was there before the adjustment
