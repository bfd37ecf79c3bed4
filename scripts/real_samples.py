"""Community and task figures on the shared real Reddit samples (../shared/data/reddit).

Converts each sample to Pushshift NDJSON dumps (the dump reader's input), builds it with the
default settings through every stage up to ``tasks`` in its own warehouse (embeddings cached
there, so a rerun only re-clusters) and prints per sample: members, communities per level,
noise, stability, coverage per level and instances per task and level.

    COMMUNITYBENCH_PSEUDONYM_KEY=... .venv/bin/python scripts/real_samples.py OUT_DIR
        [--samples airline college pushshift] [--college-threads 60] [--scope subreddit]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

from communitybench import pipeline
from communitybench.config import BuildConfig
from communitybench.sources.dumps import samples

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reddit"
STAGES = ("ingest", "staging", "texts", "embeddings", "members", "communities", "labels")
STAGES += ("profiles", "tasks")


def airline(out: Path, _args) -> list[Path]:
    return samples.airline_dumps(DATA / "airline-subreddits-2024" / "data", out)


def college(out: Path, args) -> list[Path]:
    """The newest ``--college-threads`` threads (>= 3 top-level replies) of each subreddit: CPU
    embedding time bounds the sample."""
    folder = DATA / "college-subreddits-2021" / "dat"
    return samples.college_dumps(folder, out, threads=args.college_threads)


def pushshift(_out: Path, _args) -> list[Path]:
    return samples.pushshift_head(DATA / "pushshift-rc-2015-01-head5k")


SAMPLES = {"airline": airline, "college": college, "pushshift": pushshift}


def figures(results: dict) -> dict:
    com = results["communities"].details
    tasks = results["tasks"].details
    return {
        "members": com["members"],
        "forums": com["levels"]["forum"]["published"],
        "subs_found": com["levels"]["sub"]["found"],
        "subs_published": com["levels"]["sub"]["published"],
        "sub_noise_share": com["noise_share"],
        "stability": com["levels"]["sub"]["stability"],
        "coverage": {lv: round(com["levels"][lv]["coverage"], 4) for lv in ("forum", "sub")},
        "instances": tasks["per_task"],
        "instances_per_level": tasks.get("per_level"),
        "scopes": [(s["scope"], s["members"], s["communities"]) for s in com["scopes"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--college-threads", type=int, default=60)
    parser.add_argument("--scope", default="subreddit")
    parser.add_argument("--stages", nargs="+", default=list(STAGES))
    args = parser.parse_args()
    os.environ.setdefault("COMMUNITYBENCH_PSEUDONYM_KEY", "real-samples-measurement-key")
    for name in args.samples:
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        paths = SAMPLES[name](folder, args)
        config = BuildConfig(
            source={"kind": "dumps", "dumps": [p.resolve() for p in paths]},
            communities={"scope": args.scope},
        )
        results = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for stage in pipeline.select(config, tuple(args.stages)):
                results[stage.name] = pipeline.execute(stage, config, folder / "warehouse.duckdb")
        if "tasks" in results:
            print(name, json.dumps(figures(results)), flush=True)
        else:
            print(name, "built through", list(results), flush=True)


if __name__ == "__main__":
    main()
