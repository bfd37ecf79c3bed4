"""A real Prefect run of build_release on a small demo forum."""

from __future__ import annotations

import json

import warehouse
from communitybench.config import load_config


def test_build_release_flow_on_the_demo(tmp_path, prefect_harness):
    from flows.build_release import build_release

    config_path = tmp_path / "configs" / "small.toml"
    config_path.parent.mkdir()
    config_path.write_text('[source.demo]\nseed = 3\nscale = 0.3\nout_dir = "demo"\n')
    config = load_config(config_path)
    wh = tmp_path / "wh.duckdb"

    summary = build_release(config=config, warehouse_path=wh)

    truth = json.loads((tmp_path / "demo" / "truth.json").read_text())
    files = {f["path"].rsplit("/", 1)[-1]: f for f in summary["ingest"]["files"]}
    assert set(files) == {"RS_2026-01.zst", "RC_2026-01.zst"}
    with warehouse.connect(wh, read_only=True) as con:
        kept_threads = con.execute(
            "select count(*) from stg_submissions where drop_reason is null"
        ).fetchone()[0]
        members = con.execute(
            "select count(distinct author) from stg_comments where drop_reason is null"
        ).fetchone()[0]
    assert kept_threads == len(truth["thread_owner"])
    assert members == len(truth["members"])
    assert summary["config_hash"] == config.config_hash()
