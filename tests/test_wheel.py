"""An installed wheel works on its own: no path that exists only in a source checkout.

The wheel is built from the repository, unpacked into a folder that shadows the checkout on
``PYTHONPATH``, and run from an empty working directory (the project root): it must carry every
SQL model and contract, list the pipeline, and build the first stages of the embedded default
(built-in defaults, since that directory has no ``configs/``) into that directory.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import zstandard

from communitybench.config import BuildConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        command = [str(uv), "build", "--wheel", "--out-dir", str(out), str(ROOT)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(ROOT)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("communitybench-*.whl")
    target = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def packaged_files(root: Path, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob(pattern))


def test_the_wheel_carries_every_sql_model_contract_and_data_file(unpacked):
    for pattern in ("warehouse/**/*.sql", "schemas/**/*.toml", "communitybench/**/*.toml"):
        assert packaged_files(unpacked, pattern) == packaged_files(ROOT, pattern), pattern
    entry = (next(unpacked.glob("*.dist-info")) / "entry_points.txt").read_text()
    assert "communitybench = flows.cli:app" in entry


def test_built_in_defaults_are_the_demo_config():
    documented = load_config(ROOT / "configs" / "demo.toml")
    assert documented.model_dump(exclude={"path"}) == BuildConfig(name="demo").model_dump(
        exclude={"path"}
    )


def test_the_installed_package_runs_from_an_empty_directory(unpacked, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(unpacked), "COMMUNITYBENCH_HOME": ""}
    env.pop("COMMUNITYBENCH_CONFIG", None)
    env.pop("COMMUNITYBENCH_WAREHOUSE", None)
    env["PREFECT_HOME"] = str(tmp_path / ".prefect")
    listed = subprocess.run(
        [sys.executable, "-m", "flows.cli", "stages"],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "communities" in listed.stdout and "release" in listed.stdout
    script = (
        "import json, communitybench, flows\n"
        "from communitybench import pipeline\n"
        "from communitybench.config import default_config\n"
        "from communitybench.settings import get_settings\n"
        "config = default_config()\n"
        "wh = get_settings().warehouse\n"
        "out = {n: pipeline.execute(pipeline.stage(n), config, wh).rows\n"
        "       for n in ('demo_forum', 'ingest', 'staging')}\n"
        "print(json.dumps({'package': communitybench.__file__, 'flows': flows.__file__,\n"
        "                  'warehouse': str(wh), 'rows': out}))\n"
    )
    built = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    report = json.loads(built.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(str(unpacked)) and report["flows"].startswith(str(unpacked))
    assert report["warehouse"] == str(tmp_path / "warehouse" / "communitybench.duckdb")
    forum = tmp_path / "data" / "demo"
    staged = report["rows"]["staging"]
    assert staged["stg_submissions"] == len(distinct_ids(forum, "RS_2026-01.zst"))
    assert staged["stg_comments"] == len(distinct_ids(forum, "RC_2026-01.zst"))


def distinct_ids(forum: Path, name: str) -> set[str]:
    """Item ids of a demo dump, read independently (json per line; planted bad lines skipped)."""
    bad = set(json.loads((forum / "truth.json").read_text())["malformed_lines"].get(name, []))
    reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(
        (forum / name).open("rb")
    )
    ids = set()
    for number, line in enumerate(io.TextIOWrapper(reader, encoding="utf-8"), start=1):
        if number not in bad:
            ids.add(json.loads(line)["id"])
    return ids
