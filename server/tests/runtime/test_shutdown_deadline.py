"""Issue 10 item 2: a SIGTERM'd server keeps VISOR_SHUTDOWN_TIMEOUT_S.

A real server process (app.serving, as ``visor serve`` runs it) with calls stuck in an
in-process tool, in a worker process and in a job: after SIGTERM every client gets an
envelope, the job goes back to PENDING, and the process exits — before the fix the
in-process call held it forever.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from isolation_helpers import eventually
from live_server import free_port

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parents[1]

SERVER = """
import sys
from app.main import create_app
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.serving import serve
from app.settings import Settings
from governed_plugins import StuckIsolatedPlugin, StuckPlugin

if __name__ == "__main__":
    settings = Settings(
        data_dir=sys.argv[1],
        shutdown_timeout_s=1.0,
        job_shutdown_grace_s=0.5,
        plugin_isolation={"stuck": "in_process"},
        plugin_workers={"stuck_isolated": 2},
        warm_workers=2,
        tool_timeouts={"stuck.block": 600, "stuck_isolated.block": 600},
        _env_file=None,
    )
    sources = [source_for_class(StuckPlugin), source_for_class(StuckIsolatedPlugin)]
    app = create_app(settings, registry=PluginRegistry(), plugin_sources=sources)
    serve(app, host="127.0.0.1", port=int(sys.argv[2]), shutdown_timeout_s=1.0,
          log_level="warning")
"""


def test_sigterm_cancels_stuck_calls_at_the_deadline_requeues_jobs_and_exits(
    tmp_path: Path,
) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR / "runtime"), str(TESTS_DIR), env.get("PYTHONPATH", "")]
    )
    data = tmp_path / "data"
    server = subprocess.Popen([sys.executable, str(script), str(data), str(port)], env=env)
    try:
        eventually(lambda: _ready(url), "the server to be ready", timeout_s=60)
        answers: dict[str, Any] = {}
        threads = []
        for plugin in ("stuck", "stuck_isolated"):
            marker = tmp_path / f"{plugin}.started"
            threads.append(_call(url, plugin, marker, answers))
            eventually(marker.exists, f"{plugin}.block to start")
        job_marker = tmp_path / "job.started"
        job = httpx.post(
            f"{url}/v1/jobs",
            json={"plugin": "stuck_isolated", "tool": "block", "args": {"marker": str(job_marker)}},
        )
        assert job.status_code == 202
        eventually(job_marker.exists, "the job's tool to start")

        server.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(60)
        for plugin in ("stuck", "stuck_isolated"):
            response = answers[plugin]
            assert response.status_code == 409, (plugin, response.text)
            error = response.json()["error"]
            assert error["details"]["code"] == "cancelled"
            assert "shutting down" in error["message"]
        server.wait(60)  # before the fix: never (the in-process call held the server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    with sqlite3.connect(data / "visor.sqlite3") as db:
        (status,) = db.execute("select status from visor_jobs").fetchone()
    assert status == "PENDING"  # requeued for the next start, not lost or failed


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _call(url: str, plugin: str, marker: Path, answers: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        answers[plugin] = httpx.post(
            f"{url}/v1/plugins/{plugin}/tools/block/run",
            json={"marker": str(marker)},
            timeout=120,
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
