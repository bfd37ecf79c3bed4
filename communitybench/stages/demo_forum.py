"""Stage ``demo_forum``: write the deterministic demo forum (the embedded default source).

Writes ``RS_/RC_2026-MM.zst`` and ``truth.json`` into ``[source.demo] out_dir`` unless the same
forum (seed, scale, months, profile, generator version) is already there; the ``ingest`` stage
then reads those files like any other dump. ``profile`` is ``easy`` (communities separable by
vocabulary) or ``realistic`` (see ``sources/demo/realistic.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from communitybench.config import BuildConfig, SourceConfig
from communitybench.sources.demo.forum import DEMO_FORUM_VERSION, write_demo_forum
from communitybench.stage import Stage, StageParams, StageResult, Work


class Params(StageParams):
    source: SourceConfig
    out_dir: Path  # [source.demo] out_dir resolved against the project

    @classmethod
    def from_config(cls, config: BuildConfig, **extras) -> Params:
        out = config.resolve(config.source.demo.out_dir)
        return super().from_config(config, **{"out_dir": out, **extras})


def demo_files(out_dir: Path, months: int) -> list[Path]:
    """The dump files of a demo forum with ``months`` months, submissions first."""
    return [
        Path(out_dir) / f"{kind}_2026-{m:02d}.zst"
        for kind in ("RS", "RC")
        for m in range(1, months + 1)
    ]


def run(con, params: Params) -> StageResult:
    """Write the forum unless the same one is there; report files written or kept."""
    demo = params.source.demo
    wanted = {
        "seed": demo.seed,
        "scale": demo.scale,
        "months": demo.months,
        "profile": demo.profile,
        "version": DEMO_FORUM_VERSION,
    }
    files = demo_files(params.out_dir, demo.months)
    truth = params.out_dir / "truth.json"
    have = {}
    if truth.exists():
        meta = json.loads(truth.read_text())
        have = {k: meta.get(k) for k in wanted} | {"profile": meta.get("profile", "easy")}
    reused = have == wanted and all(f.exists() for f in files)
    summary = {"out_dir": str(params.out_dir), "reused": True, **wanted}
    if not reused:
        summary = write_demo_forum(
            params.out_dir,
            seed=demo.seed,
            scale=demo.scale,
            months=demo.months,
            profile=demo.profile,
            progress=True,
        )
    n = len(files) + 1  # the dumps and truth.json
    note = f"{demo.profile} profile, seed {demo.seed}, scale {demo.scale}, {demo.months} month(s)"
    note += f" in {params.out_dir}"
    return StageResult(
        name="demo_forum",
        version=DEMO_FORUM_VERSION,
        work=(Work("files", computed=0 if reused else n, reused=n if reused else 0, note=note),),
        details=summary,
    )


STAGE = Stage(
    name="demo_forum",
    version=DEMO_FORUM_VERSION,
    params=Params,
    run=run,
    doc="write the deterministic demo forum (dumps with planted communities and truth.json)",
    when=lambda config: config.source.kind == "demo",
)
