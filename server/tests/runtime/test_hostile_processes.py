"""Hostile process-isolated tools, each run while a well-behaved plugin is called in parallel.

The good calls all succeed, each bad call gets its envelope and HTTP status, the registry
shows the right state and counts, the worker is replaced, and the server is the same
process at the end.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from executors import executor_settings
from fastapi.testclient import TestClient
from helpers import plugin_sources

from app.main import create_app
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings

pytestmark = pytest.mark.slow

SERVER_PID = os.getpid()
TIME_LIMIT_S = 1.0  # per-tool overrides for hang and spin; everything else gets 30 s
LEAK_MARKERS = ("Traceback", "_internal", 'File "', "crashy.py")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, executor_kind: str) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("hostile")) / "data",
        default_timeout_s=30.0,
        tool_timeouts={"crashy.hang": TIME_LIMIT_S, "crashy.spin": TIME_LIMIT_S},
        max_result_bytes=1024 * 1024,
        circuit_failures=1000,  # this module is about single failures; see test_circuit.py
        **executor_settings(executor_kind),
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(
        settings, registry=PluginRegistry(), plugin_sources=plugin_sources("crashy", "steady")
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _health(client: TestClient, plugin: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/plugins/{plugin}/health").json()
    return body


def _run(client: TestClient, plugin: str, tool: str, payload: dict[str, Any]) -> Any:
    return client.post(f"/v1/plugins/{plugin}/tools/{tool}/run", json=payload)


class _GoodTraffic:
    """Calls steady.echo in a loop on another thread until stopped; keeps every response."""

    def __init__(self, client: TestClient) -> None:
        self._client = client
        self._stop = threading.Event()
        self.statuses: list[int] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set() or len(self.statuses) < 5:
            response = _run(self._client, "steady", "echo", {"text": "fine"})
            self.statuses.append(response.status_code)

    def __enter__(self) -> _GoodTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


BAD_TOOLS = [
    # tool, payload, HTTP status, error type, code, plugin state afterwards
    ("raise_error", {}, 500, "ExecutionError", "tool_error", "RUNNING"),
    ("hang", {}, 504, "ExecutionError", "timeout", "FAILED"),
    ("spin", {}, 504, "ExecutionError", "timeout", "FAILED"),
    ("exit", {}, 500, "ExecutionError", "worker_crashed", "FAILED"),
    ("segfault", {}, 500, "ExecutionError", "worker_crashed", "FAILED"),
    ("allocate", {"mb": 8192}, 500, "ExecutionError", "memory_limit", "FAILED"),
    ("leak", {"mb": 4096}, 500, "ExecutionError", "memory_limit", "FAILED"),
    ("shared_hog", {"mb": 1024}, 500, "ExecutionError", "memory_limit", "FAILED"),
    ("huge", {"mb": 8}, 500, "ValidationError", "invalid_output", "RUNNING"),
    ("garbage", {}, 200, None, None, "RUNNING"),
]


@pytest.mark.parametrize(
    ("tool", "payload", "status", "error_type", "code", "state"),
    BAD_TOOLS,
    ids=[row[0] for row in BAD_TOOLS],
)
def test_a_hostile_tool_costs_only_its_own_call(
    client: TestClient,
    tool: str,
    payload: dict[str, Any],
    status: int,
    error_type: str | None,
    code: str | None,
    state: str,
) -> None:
    assert _run(client, "crashy", "pid", {}).status_code == 200  # a warm, RUNNING worker
    crashy_before, steady_before = _health(client, "crashy"), _health(client, "steady")

    with _GoodTraffic(client) as good:
        response = _run(client, "crashy", tool, payload)

    assert good.statuses and set(good.statuses) == {200}
    assert response.status_code == status, response.text
    if code is not None:
        error = response.json()["error"]
        assert (error["type"], error["details"]["code"], error["plugin"]) == (
            error_type,
            code,
            "crashy",
        )
        assert not any(marker in response.text for marker in LEAK_MARKERS)
    if code == "timeout":
        assert response.json()["error"]["details"]["timeout_s"] == TIME_LIMIT_S
        assert response.elapsed.total_seconds() < TIME_LIMIT_S + 5  # stopped, not waited out

    crashy = _health(client, "crashy")
    assert crashy["state"] == state
    assert crashy["error_count"] == crashy_before["error_count"] + (code is not None)
    assert crashy["success_count"] == crashy_before["success_count"] + (code is None)
    if state == "FAILED":
        assert crashy["reason"]
    steady = _health(client, "steady")
    assert steady["state"] == "RUNNING" and steady["error_count"] == steady_before["error_count"]
    assert steady["success_count"] == steady_before["success_count"] + len(good.statuses)

    again = _run(client, "crashy", "pid", {})  # the replaced worker serves the next call
    assert again.status_code == 200
    assert _health(client, "crashy")["state"] == "RUNNING"
    assert os.getpid() == SERVER_PID
    assert client.get("/v1/health").status_code == 200


def test_a_saturated_plugin_answers_503_with_retry_after(
    make_client: Any, executor_kind: str
) -> None:
    client: TestClient = make_client(
        plugin_sources("crashy"),
        plugin_queue_sizes={"crashy": 0},
        **executor_settings(executor_kind),
    )
    busy = threading.Thread(
        target=_run, args=(client, "crashy", "sleep", {"seconds": 1.5}), daemon=True
    )
    busy.start()
    pool = client.app.state.plugin_service.executor.process.pool("crashy")  # type: ignore[attr-defined]
    from isolation_helpers import eventually

    eventually(lambda: pool.stats()["busy"] == 1, "the one worker to be busy")
    refused = _run(client, "crashy", "pid", {})
    assert refused.status_code == 503
    assert refused.json()["error"]["details"]["code"] == "overloaded"
    assert int(refused.headers["Retry-After"]) >= 1
    busy.join(30)
    assert _run(client, "crashy", "pid", {}).status_code == 200
