"""The pipeline: every stage, in the order a build runs them.

A stage is one module here: its ``Params`` (the config sections it reads), ``run(con, params)``
returning a ``StageResult``, and its ``STAGE`` (name, version, input and output tables). Its
pure logic lives in ``transforms/``, its SQL in ``warehouse/<layer>/*.sql`` beside the contracts
in ``schemas/<layer>/``. To add a stage: write the module, add its name to ``ORDER`` below at
its place in the order, and add ``tests/stages/test_<name>.py``; ``communitybench run <name>`` and
``build-release`` pick it up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from communitybench.stage import Stage

# the stage modules, in pipeline order (a stage's name is its module's name)
ORDER = (
    "demo_forum",  # sources: the one matching [source] kind runs
    "ingest",
    "crawl",
    "staging",  # raw observations → staging, every row kept with a drop_reason
    "texts",  # derived stages: skipped when the build's inputs are unchanged
    "embeddings",
    "members",
    "communities",
    "labels",
    "profiles",
    "tasks",
    "release",
    "views",  # analyst views over whatever exists
)


def load(name: str) -> Stage:
    """The ``STAGE`` of one stage module, importing only that module: a command that runs one
    stage (``communitybench ingest``) does not pay for the others' imports (openai, scipy,
    praw, matplotlib: seconds on a loaded machine)."""
    return import_module(f"communitybench.stages.{name}").STAGE


def __getattr__(attribute: str):
    # STAGES, every stage in order, is built when first asked for (PEP 562)
    if attribute == "STAGES":
        return tuple(load(name) for name in ORDER)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
