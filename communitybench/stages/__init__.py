"""The pipeline: every stage, in the order a build runs them.

A stage is one module here: its ``Params`` (the config sections it reads), ``run(con, params)``
returning a ``StageResult``, and its ``STAGE`` (name, version, input and output tables). Its
pure logic lives in ``transforms/``, its SQL in ``warehouse/<layer>/*.sql`` beside the contracts
in ``schemas/<layer>/``. To add a stage: write the module, add it to ``STAGES`` below at its
place in the order, and add ``tests/stages/test_<name>.py``; ``communitybench run <name>`` and
``build-release`` pick it up.
"""

from __future__ import annotations

from communitybench.stages import (
    communities,
    crawl,
    demo_forum,
    embeddings,
    ingest,
    labels,
    members,
    profiles,
    release,
    staging,
    tasks,
    texts,
    views,
)

STAGES = tuple(
    module.STAGE
    for module in (
        demo_forum,  # sources: the one matching [source] kind runs
        ingest,
        crawl,
        staging,  # raw observations → staging, every row kept with a drop_reason
        texts,  # derived stages: skipped when the build's inputs are unchanged
        embeddings,
        members,
        communities,
        labels,
        profiles,
        tasks,
        release,
        views,  # analyst views over whatever exists
    )
)
