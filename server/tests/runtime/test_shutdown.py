"""Graceful shutdown: in-flight calls finish or are cancelled in time; no worker survives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources
from isolation_helpers import eventually, gone, start_stack, worker_processes

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parents[1]


def _call_in_thread(
    stack: Any, tool: str, payload: dict[str, Any]
) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("value", stack.run("crashy", tool, payload)), daemon=True
    )
    thread.start()
    pool = stack.executor.pool("crashy")
    eventually(lambda: pool.stats()["busy"] == 1, f"crashy.{tool} to start")
    return thread, box


def test_in_flight_calls_finish_within_the_deadline() -> None:
    stack = start_stack("crashy", "steady")
    pids = stack.executor.pids("crashy") + stack.executor.pids("steady")
    thread, box = _call_in_thread(stack, "sleep", {"seconds": 0.5})
    stack.executor.shutdown(timeout_s=10)
    thread.join(5)
    result, error = box["value"]
    assert error == {} and result["slept"] == 0.5
    assert gone(pids)
    assert stack.code("steady", "echo") == "plugin_unavailable"  # nothing runs after shutdown


def test_in_flight_calls_past_the_deadline_are_cancelled() -> None:
    stack = start_stack("crashy")
    pids = stack.executor.pids("crashy")
    thread, box = _call_in_thread(stack, "hang", {})
    stack.executor.shutdown(timeout_s=0.3)
    thread.join(5)
    _, error = box["value"]
    assert error["error"]["details"]["code"] == "cancelled"
    assert "shutting down" in error["error"]["message"]
    assert gone(pids)


def test_stopping_the_app_leaves_no_worker_behind(make_client: Any) -> None:
    client: TestClient = make_client(plugin_sources("crashy", "steady"), warm_workers=2)
    executor = client.app.state.plugin_service.executor.process  # type: ignore[attr-defined]
    pids = executor.pids("crashy") + executor.pids("steady")
    assert len(pids) == 3 and all(pid in {p.pid for p in worker_processes()} for pid in pids)
    assert client.post("/v1/plugins/steady/tools/echo/run", json={}).status_code == 200
    client.__exit__(None, None, None)
    assert gone(pids)


def test_workers_exit_when_the_server_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the server no chance to clean up: the workers notice and exit."""
    script = tmp_path / "server.py"
    script.write_text(
        "import json, time\n"
        "from isolation_helpers import start_stack\n"
        "if __name__ == '__main__':\n"
        "    stack = start_stack('steady', min_workers=2)\n"
        "    print(json.dumps(stack.executor.pids('steady')), flush=True)\n"
        "    time.sleep(600)\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR / "runtime"), str(TESTS_DIR), env.get("PYTHONPATH", "")]
    )
    server = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert server.stdout is not None
        pids = json.loads(server.stdout.readline())
        assert len(pids) == 2
    finally:
        server.kill()
        server.wait(10)
    eventually(lambda: gone(pids), "orphaned workers to exit", timeout_s=15)
