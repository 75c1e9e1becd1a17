"""What is particular to Ray, on the session's real local Ray (the shared contract,
hostile-plugin and jobs suites run on Ray too, through ``executor_kind``).

- plugins are built on their actors from the entry point, never in the server, and their
  startup runs once per actor: the same actor serves call after call;
- the registry and ``/metrics`` count calls that ran on Ray exactly, under concurrency;
- repeated actor losses open the circuit, and the probe — the plugin's health check run
  on an actor — closes it again.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import pytest
from executors import RAY_SICK_FILE, executor_settings
from fastapi.testclient import TestClient
from helpers import plugin_sources
from waiting import wait_until as eventually

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture
def ray_client(make_client: Any, ray_cluster: str) -> Any:
    def build(*names: str, **overrides: Any) -> TestClient:
        client: TestClient = make_client(
            plugin_sources(*names), **executor_settings("ray"), **overrides
        )
        return client

    return build


def _run(client: TestClient, plugin: str, tool: str, payload: dict[str, Any]) -> Any:
    return client.post(f"/v1/plugins/{plugin}/tools/{tool}/run", json=payload)


def _health(client: TestClient, plugin: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/plugins/{plugin}/health").json()
    return body


def test_plugins_are_built_on_their_actors_and_stay_loaded(ray_client: Any) -> None:
    client = ray_client("steady", plugin_workers={"steady": 1})
    record = client.app.state.registry.get("steady")
    assert record.instance is None  # the server never constructed it
    executor = client.app.state.plugin_service.executor.process
    (node,) = executor.nodes("steady")
    pids = {
        _run(client, "steady", "echo", {"text": str(i)}).json()["result"]["pid"] for i in range(5)
    }
    assert len(pids) == 1 and os.getpid() not in pids  # one warm actor served every call
    assert executor.pids("steady") == list(pids)
    assert node  # placed on a node of the cluster
    assert _health(client, "steady")["isolation"] == "ray"


def test_metrics_count_calls_on_ray_exactly(ray_client: Any) -> None:
    client = ray_client("steady", "crashy", plugin_workers={"steady": 2})
    threads, per_thread = 4, 10

    def calls() -> None:
        for i in range(per_thread):
            if i % 5 == 4:
                assert _run(client, "crashy", "raise_error", {}).status_code == 500
            else:
                assert _run(client, "steady", "noop", {}).status_code == 200

    workers = [threading.Thread(target=calls) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    good, bad = threads * per_thread * 4 // 5, threads * per_thread // 5
    steady, crashy = _health(client, "steady"), _health(client, "crashy")
    assert (steady["success_count"], steady["error_count"]) == (good, 0)
    assert (crashy["success_count"], crashy["error_count"]) == (0, bad)
    metrics = client.get("/metrics").text

    def counter(plugin: str, tool: str, outcome: str) -> float:
        total = 0.0
        for line in metrics.splitlines():
            match = re.match(r"^visor_tool_calls_total\{(.*)\} (\S+)$", line)
            if match:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
                if (labels["plugin"], labels["tool"], labels["outcome"]) == (plugin, tool, outcome):
                    total += float(match.group(2))
        return total

    assert counter("steady", "noop", "SUCCESS") == good
    assert counter("crashy", "raise_error", "ERROR") == bad


def test_repeated_actor_losses_open_the_circuit_and_a_probe_closes_it(ray_client: Any) -> None:
    client = ray_client("crashy", circuit_failures=2, circuit_cooldown_s=0.3)
    assert _run(client, "crashy", "pid", {}).status_code == 200
    first = _run(client, "crashy", "exit", {})
    assert first.json()["error"]["details"]["code"] == "worker_crashed"
    assert _run(client, "crashy", "pid", {}).status_code == 200  # replaced, serving

    RAY_SICK_FILE.touch()  # the actors' health check fails from now on
    try:
        second = _run(client, "crashy", "segfault", {})
        assert second.json()["error"]["details"]["code"] == "worker_crashed"
        assert "circuit open" in second.json()["error"]["message"]
        refused = _run(client, "crashy", "pid", {})
        assert refused.status_code == 503
        assert refused.json()["error"]["details"]["code"] == "plugin_unavailable"
        eventually(
            lambda: "probe failed" in (_health(client, "crashy")["reason"] or ""), "a failed probe"
        )
    finally:
        RAY_SICK_FILE.unlink(missing_ok=True)
    eventually(lambda: _health(client, "crashy")["state"] == "INITIALIZED", "the circuit to close")
    assert _run(client, "crashy", "pid", {}).status_code == 200
