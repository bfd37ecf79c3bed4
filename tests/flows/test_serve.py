"""Scheduled rebuilds: deployment settings, and overlap on a real local Prefect server.

The server tests start ``prefect server start --host 127.0.0.1`` on a free port with its own
PREFECT_HOME, serve a cheap stand-in flow (``nap``) through the same ``build_deployment`` and
``serve_deployment`` that ``communitybench serve`` uses, and read the outcome back from the API.
"""

from __future__ import annotations

import inspect
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from flows import serve as scheduling
from flows.cli import app
from tests.fixtures.flows import nap

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FINAL = {"COMPLETED", "CANCELLED", "FAILED", "CRASHED"}


# --- deployment construction and the command (no server) ----------------------------------------


def test_build_deployment_has_cron_and_a_limit_of_one():
    deployment = scheduling.build_deployment(nap, cron="0 3 * * 1", parameters={"seconds": 1.0})
    assert deployment.name == "scheduled"
    assert deployment.entrypoint == "tests.fixtures.flows.nap"
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [
        ("0 3 * * 1", "UTC")
    ]
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert deployment.parameters == {"seconds": 1.0}


def test_wait_overlap_enqueues():
    deployment = scheduling.build_deployment(nap, overlap="wait")
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron": "every monday"}, "invalid schedule --cron 'every monday'"),
        ({"timezone": "Mars/Olympus"}, "--timezone 'Mars/Olympus'"),
        ({"overlap": "both"}, "unknown overlap policy 'both'"),
    ],
)
def test_bad_schedule_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(scheduling.ServeError, match=message):
        scheduling.build_deployment(nap, **kwargs)


def test_check_server_names_the_url_and_the_fix():
    url = f"http://127.0.0.1:{_free_port()}/api"
    with pytest.raises(scheduling.ServeError, match="make serve") as exc:
        scheduling.check_server(url, timeout=1.0)
    assert url in str(exc.value)


def test_prefect_yaml_matches_the_serve_settings():
    from flows.scheduled import scheduled_build_release

    (deployment,) = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    assert deployment["entrypoint"] == "flows/scheduled.py:scheduled_build_release"
    assert deployment["schedules"][0]["cron"] == scheduling.DEFAULT_CRON
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert set(deployment["parameters"]) == set(
        inspect.signature(scheduled_build_release.fn).parameters
    )


def _serve(config_path: Path, *args: str):
    """``communitybench --config <config_path> --warehouse wh.duckdb serve <args>``."""
    global_options = ["--config", str(config_path), "--warehouse", "wh.duckdb"]
    return CliRunner().invoke(app, [*global_options, "serve", *args])


def test_serve_command_deploys_the_wrapper_with_json_parameters(monkeypatch):
    served = {}
    monkeypatch.setattr(scheduling, "check_server", lambda url: None)
    monkeypatch.setattr(
        scheduling, "serve_deployment", lambda d, url, log_level: served.update(d=d, url=url)
    )
    args = ["--cron", "*/5 * * * *", "--overlap", "wait", "--api-url", "http://x/api"]
    result = _serve(ROOT / "configs" / "demo.toml", *args)
    assert result.exit_code == 0, result.output
    deployment = served["d"]
    assert deployment.entrypoint == "flows.scheduled.scheduled_build_release"
    assert deployment.schedules[0].schedule.cron == "*/5 * * * *"
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    assert deployment.parameters == {
        "config_path": str(ROOT / "configs" / "demo.toml"),
        "warehouse_path": str(Path("wh.duckdb").resolve()),
    }
    assert served["url"] == "http://x/api"


def test_serve_command_stops_on_a_bad_config_or_no_server(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[source]\nkind = 'carrier-pigeon'\n")
    result = _serve(bad)
    assert result.exit_code == 2
    assert "config error" in result.output

    url = f"http://127.0.0.1:{_free_port()}/api"
    result = _serve(ROOT / "configs" / "demo.toml", "--api-url", url)
    assert result.exit_code == 2
    assert "no Prefect server answers" in result.output


# --- helpers for a real local server ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process started by ``_start`` and everything in its session."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _get(api_url: str, path: str, **filters) -> dict | list:
    method = "POST" if filters else "GET"
    response = httpx.request(method, f"{api_url}{path}", json=filters or None, timeout=10)
    response.raise_for_status()
    return response.json()


def _poll(what: str, fetch, proc: subprocess.Popen, log: Path, seconds: float):
    """Call ``fetch`` until it returns something truthy; fail with the log if ``proc`` dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: process exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if found := fetch():
                return found
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what}: nothing after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real Prefect server on 127.0.0.1:<free port>; yields (api_url, env for its clients)."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",  # ENQUEUE retry; 30 s
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # serve polls for due runs every 10 s by default
        "PYTHONPATH": str(ROOT),  # flow-run subprocesses import tests.fixtures.flows.nap
    }
    log = home / "server.log"
    args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    proc = _start(args, env, log)
    try:
        _poll("server health", lambda: _get(api_url, "/health"), proc, log, seconds=90)
        yield api_url, env
    finally:
        _stop(proc)


def _serve_nap(server, tmp_path: Path, name: str, cron: str, overlap: str = "cancel"):
    """Serve ``nap`` like ``communitybench serve`` does; returns (process, deployment, log)."""
    api_url, env = server
    code = (
        "from flows.serve import build_deployment, serve_deployment\n"
        "from tests.fixtures.flows import nap\n"
        f"d = build_deployment(nap, cron={cron!r}, overlap={overlap!r}, name={name!r})\n"
        f"serve_deployment(d, {api_url!r})\n"
    )
    log = tmp_path / f"serve-{name}.log"
    proc = _start([str(BIN / "python"), "-c", code], env, log)
    fetch = lambda: _get(api_url, f"/deployments/name/nap/{name}")  # noqa: E731
    return proc, _poll(f"deployment nap/{name}", fetch, proc, log, seconds=60), log


def _trigger_two_together(server, tmp_path: Path, overlap: str) -> tuple[dict, list[dict]]:
    """Two runs of one served deployment created at once; returns (deployment, final runs)."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url, _ = server
    proc, deployment, log = _serve_nap(server, tmp_path, f"two-{overlap}", "0 3 * * 1", overlap)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            ids = [
                str(run_deployment(f"nap/{deployment['name']}", timeout=0, as_subflow=False).id)
                for _ in range(2)
            ]

        def finished():
            runs = [_get(api_url, f"/flow_runs/{i}") for i in ids]
            if not all(r["state"]["type"] in FINAL for r in runs):
                return None
            # a run's INFO lines reach the server in batches, after its state change
            logs = _get(api_url, "/logs/filter", logs={"flow_run_id": {"any_": ids}})
            ended = sum(r["state"]["type"] == "COMPLETED" for r in runs)
            return runs if sum("Finished in state" in x["message"] for x in logs) >= ended else None

        runs = _poll("both runs final", finished, proc, log, seconds=90)
    finally:
        _stop(proc)
    for run in runs:
        states = _get(api_url, f"/flow_run_states/?flow_run_id={run['id']}")
        run["history"] = [s["name"] for s in sorted(states, key=lambda s: s["timestamp"])]
        logs = _get(api_url, "/logs/filter", logs={"flow_run_id": {"any_": [run["id"]]}})
        run["logs"] = [x["message"] for x in logs]
    return deployment, sorted(runs, key=lambda r: r["state"]["type"])


# --- on a real local server -----------------------------------------------------------------


def test_overlapping_runs_one_runs_the_other_is_cancelled(server, tmp_path):
    deployment, (cancelled, completed) = _trigger_two_together(server, tmp_path, "cancel")
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 3 * * 1"]
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert completed["history"] == ["Scheduled", "Pending", "Submitting", "Running", "Completed"]
    assert cancelled["history"] == ["Scheduled", "Cancelled"]  # never reached Running
    assert cancelled["state"]["message"] == "Deployment concurrency limit reached."
    assert "Finished in state Completed()" in completed["logs"]  # INFO lines reach the server


@pytest.mark.slow
def test_overlapping_runs_with_wait_run_one_after_the_other(server, tmp_path):
    deployment, runs = _trigger_two_together(server, tmp_path, "wait")
    assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    first, second = sorted(runs, key=lambda r: r["start_time"])
    assert [r["state"]["name"] for r in (first, second)] == ["Completed", "Completed"]
    assert "AwaitingConcurrencySlot" not in first["history"]
    assert "AwaitingConcurrencySlot" in second["history"]
    assert second["start_time"] >= first["end_time"]


@pytest.mark.slow
def test_a_cron_schedule_fires_on_the_local_server(server, tmp_path):
    api_url, _ = server
    proc, deployment, log = _serve_nap(server, tmp_path, "every-minute", "* * * * *")
    filters = {
        "deployments": {"id": {"any_": [deployment["id"]]}},
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
    }
    try:
        runs = _poll("a completed run", lambda: _get(api_url, "/flow_runs/filter", **filters),
                     proc, log, seconds=150)  # fmt: skip
    finally:
        _stop(proc)
    assert runs[0]["auto_scheduled"] is True
    assert runs[0]["expected_start_time"].endswith(":00Z")  # a minute boundary, from the cron


@pytest.mark.slow
def test_prefect_yaml_deploys_to_a_server(server):
    api_url, env = server
    for args in (
        ["work-pool", "create", "communitybench", "--type", "process"],
        ["--no-prompt", "deploy", "--all"],
    ):
        done = subprocess.run(
            [str(BIN / "prefect"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    deployment = _get(api_url, "/deployments/name/scheduled_build_release/scheduled")
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 3 * * 1"]
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert deployment["work_pool_name"] == "communitybench"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]


@pytest.mark.slow
def test_make_serve_script_starts_a_loopback_server_and_stops_cleanly(tmp_path):
    """scripts/serve.sh end to end (needs ``serve`` registered in flows/cli.py)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_UI_ENABLED": "false",
        "COMMUNITYBENCH_WAREHOUSE": str(tmp_path / "wh.duckdb"),
    }
    log = tmp_path / "make-serve.log"
    proc = _start(["bash", "scripts/serve.sh", "--cron", "0 4 * * *"], env, log)
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        fetch = lambda: _get(api_url, "/deployments/name/scheduled_build_release/scheduled")  # noqa: E731
        deployment = _poll("served deployment", fetch, proc, log, seconds=150)
        # prefect installs its SIGTERM handler (which pauses the schedule) once serving starts
        _poll("serving", lambda: "polling for scheduled runs" in log.read_text(), proc, log, 60)
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)  # what a supervisor sends to the script
        assert proc.wait(timeout=60) == 143, log.read_text()
    finally:
        _stop(proc)
    assert deployment["schedules"][0]["schedule"]["cron"] == "0 4 * * *"
    assert deployment["parameters"]["warehouse_path"] == str(tmp_path / "wh.duckdb")
    assert not deployment["paused"]
    with pytest.raises(ProcessLookupError):  # server and serve stopped with the script
        os.killpg(proc.pid, 0)
    with sqlite3.connect(tmp_path / "prefect.db") as db:  # serve paused the schedule on its way out
        assert db.execute("select paused from deployment").fetchall() == [(1,)]
