"""The ``communitybench`` command line (flows/cli.py): every building command runs stages
through the one Prefect flow; global options; one clear message and an exit code per error."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import warehouse
from communitybench import pipeline
from communitybench.settings import get_settings
from communitybench.stages import STAGES
from flows.cli import STAGE_COMMANDS, app
from tests.fixtures.demo import read
from tests.fixtures.release import entries

JAN_1_2026 = 1767225600
# what the per-stage commands and build-release both write (community_scopes minus its clock)
COMPARED = (
    "stg_submissions",
    "stg_comments",
    "texts",
    "members",
    "memberships",
    "communities",
    "community_lineage",
    "thread_ownership",
    "option_sets",
    "distributions",
    "profiles",
    "task_pi",
    "task_dp",
    "task_ccg",
    "task_ci",
)


def invoke(args: list[str], **env: str):
    """Run the CLI with environment variables set for this call only."""
    get_settings.cache_clear()
    try:
        env = {"COLUMNS": "200", **{k: str(v) for k, v in env.items()}}
        return CliRunner(env=env).invoke(app, list(map(str, args)))
    finally:
        get_settings.cache_clear()


def dump(path: Path, n: int = 3, broken: bool = True) -> Path:
    rows = [
        {
            "id": f"c{i}",
            "link_id": "t3_s",
            "parent_id": "t3_s",
            "subreddit": "a",
            "author": f"u{i}",
            "body": "a comment long enough to keep",
            "score": 1,
            "created_utc": JAN_1_2026,
        }
        for i in range(n)
    ]
    path.write_text("\n".join(map(json.dumps, rows)) + ("\n{broken\n" if broken else "\n"))
    return path


def test_help_lists_the_commands():
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("build-release", "demo-forum", "ingest", "run", "stages", "sql", "serve"):
        assert command in result.output
    for command in STAGE_COMMANDS:
        assert command in result.output


def test_stages_lists_the_pipeline_in_order():
    result = invoke(["stages"])
    assert result.exit_code == 0
    first_cells = [line.split("│")[1].strip() for line in result.output.splitlines()[4:-1]]
    assert [c for c in first_cells if c] == [s.name for s in STAGES]
    assert f"│ release     │ {pipeline.stage('release').version}" in result.output


def test_ingest_prints_counts_and_honours_warehouse_option(tmp_path, prefect_harness):
    wh = tmp_path / "cli.duckdb"
    result = invoke(["--warehouse", wh, "ingest", dump(tmp_path / "RC_x.ndjson")])
    assert result.exit_code == 0, result.output
    assert "dropped: invalid_json=1" in result.output
    assert "rows written: stg_submissions=0, stg_comments=3" in result.output
    assert read(wh, "select count(*) from stg_comments") == [(3,)]


def test_ingest_imports_none_of_the_heavy_libraries_it_does_not_use(tmp_path):
    """`communitybench ingest` is timed against bare DuckDB, process start included
    (bench/ingest.py): praw, pandas, polars, Great Expectations, openai and Prefect are not
    imported on its local path (they cost ~1 s of every run)."""
    wh, path = tmp_path / "w.duckdb", dump(tmp_path / "RC_x.ndjson")
    heavy = ("pandas", "praw", "polars", "great_expectations", "openai", "prefect", "torch")
    script = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        f"    app(['-w', {str(wh)!r}, 'ingest', '--no-staging', {str(path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout[-500:]
    assert read(wh, "select count(*) from raw_comments") == [(3,)]


def test_run_runs_the_named_stages_in_pipeline_order(tmp_path, prefect_harness):
    config = tmp_path / "configs" / "dumps.toml"
    config.parent.mkdir()
    config.write_text(f'[source]\nkind = "dumps"\ndumps = ["{dump(tmp_path / "RC_y.ndjson")}"]\n')
    wh = tmp_path / "run.duckdb"
    result = invoke(["-c", config, "-w", wh, "run", "views", "staging", "ingest"])
    assert result.exit_code == 0, result.output
    headings = re.findall(r"\b(\w+) \(\w+_v\d+\) [\d.]+ s$", result.output, re.M)
    assert headings == ["ingest", "staging", "views"]  # one heading per result, in order
    assert read(wh, "select count(*) from v_drop_reasons") == [(1,)]
    unknown = invoke(["-c", config, "-w", wh, "run", "stagin"])
    assert unknown.exit_code == 2 and "no stage 'stagin'; the stages are:" in unknown.output
    idle = invoke(["-c", config, "-w", wh, "run", "crawl"])  # not a stage of a dump build
    assert idle.exit_code == 2 and "crawl do not apply to [source] kind = 'dumps'" in idle.output


def test_config_from_environment_and_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[clean]\nmin_chars = -1\n")
    result = invoke(["--warehouse", tmp_path / "w.duckdb", "staging"], COMMUNITYBENCH_CONFIG=bad)
    assert result.exit_code == 2
    assert "config error" in result.output and "clean.min_chars" in result.output
    assert "Traceback" not in result.output


def test_missing_dump_is_a_clear_error(tmp_path):
    result = invoke(["-w", tmp_path / "w.duckdb", "ingest", "nope.zst"])
    assert result.exit_code == 2
    assert f"dump file(s) not found: {Path('nope.zst').resolve()}" in result.output
    assert "Traceback" not in result.output


def test_missing_inputs_name_the_stage_to_run_first(tmp_path):
    result = invoke(["-w", tmp_path / "w.duckdb", "tasks"])
    assert result.exit_code == 2
    assert "stage labels needs the stg_comments, stg_submissions, texts" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "w.duckdb").exists()


def test_bad_takedown_list_is_a_clear_error(tmp_path, prefect_harness):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "takedowns.txt").write_text("t1_ok\nuser:bob\n")
    config = tmp_path / "configs" / "c.toml"
    config.write_text('[clean]\ntakedowns = "configs/takedowns.txt"\n')
    wh = tmp_path / "w.duckdb"
    invoke(["-w", wh, "ingest", dump(tmp_path / "RC_z.ndjson", broken=False), "--no-staging"])
    result = invoke(["-c", config, "-w", wh, "staging"])
    assert result.exit_code == 2
    assert "takedowns line 2: unknown prefix 'user'" in result.output
    assert "Traceback" not in result.output


def test_an_existing_version_stops_build_release_before_any_stage(tmp_path):
    releases = tmp_path / "releases"
    (releases / "v1").mkdir(parents=True)
    wh = tmp_path / "w.duckdb"
    result = invoke(
        ["-w", wh, "build-release", "--version", "v1"], COMMUNITYBENCH_RELEASES_DIR=releases
    )
    assert result.exit_code == 1
    assert "release blocked: release v1 already exists" in result.output
    assert not wh.exists() and entries(releases) == ["v1"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_paths(demo_build, tmp_path_factory, prefect_harness):
    """The demo build's marts rebuilt twice from copies whose quarantine has a duplicated row:
    by ``build-release`` (A, blocked by the gate on that row) and by the per-stage commands
    ``staging``, ``communities`` and ``tasks`` (B)."""
    root = tmp_path_factory.mktemp("cli_paths")
    config = root / "configs" / "demo.toml"
    config.parent.mkdir()
    demo = demo_build.config.source.demo
    # a private copy of the session forum: build-release's demo_forum stage rewrites a folder
    # whose truth.json names other months (the session folder holds two, this build reads one)
    forum = shutil.copytree(demo.out_dir, root / "forum")
    config.write_text(
        f'[source]\nkind = "demo"\n[source.demo]\nseed = {demo.seed}\nmonths = {demo.months}\n'
        f'out_dir = "{forum}"\n'
    )
    a, b = demo_build.copy(root / "a.duckdb"), demo_build.copy(root / "b.duckdb")
    for wh in (a, b):
        with warehouse.connect(wh) as con:
            con.execute("insert into quarantine select * from quarantine order by all limit 1")
    [(key, line)] = read(
        a, "select source_file_key, source_line from quarantine order by all limit 1"
    )
    env = {
        "COMMUNITYBENCH_RELEASES_DIR": str(root / "releases"),
        "COMMUNITYBENCH_BUILD_DIR": str(root / "build"),
    }
    before = _digest(a)
    blocked = invoke(["-c", config, "-w", a, "build-release"], **env)
    per_stage = [invoke(["-c", config, "-w", b, name], **env) for name in STAGE_COMMANDS]
    return SimpleNamespace(
        root=root,
        a=a,
        b=b,
        blocked=blocked,
        per_stage=per_stage,
        key=(key, line),
        unchanged=_digest(a) == before,
    )


def test_build_release_blocked_by_a_gate_exits_1_and_publishes_nothing(two_paths):
    result = two_paths.blocked
    assert result.exit_code == 1, result.output
    assert "release blocked: validation failed" in result.output
    key, line = two_paths.key
    assert "quarantine: expect_compound_columns_to_be_unique failed" in result.output
    assert f"source_file_key={key!r}, source_line={line}" in result.output
    assert "Traceback" not in result.output
    assert two_paths.unchanged  # the live warehouse is byte-identical
    assert not [n for n in entries(two_paths.root / "releases") if not n.startswith(".")]
    assert entries(two_paths.root / "releases") == []


def test_build_release_and_the_stage_commands_write_the_same_tables(two_paths):
    """One execution path: the build's stages (in its building copy, kept after the blocked
    release) wrote exactly what the per-stage commands wrote."""
    assert [r.exit_code for r in two_paths.per_stage] == [0] * len(STAGE_COMMANDS)
    building = two_paths.a.with_name("a.duckdb.building")
    for table in COMPARED:
        query = f"select * from {table} order by all"
        assert read(building, query) == read(two_paths.b, query), table
    scopes = "select * exclude (clustered_at) from community_scopes order by all"
    assert read(building, scopes) == read(two_paths.b, scopes)
