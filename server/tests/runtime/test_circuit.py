"""The circuit breaker: alone with a fake clock, then end to end through HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources
from isolation_helpers import eventually

from app.plugins.runtime.process.circuit import CircuitBreaker


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_open_the_circuit() -> None:
    clock = _Clock()
    circuit = CircuitBreaker(threshold=3, window_s=10, cooldown_s=5, clock=clock)
    assert not circuit.record_failure("crash 1")
    clock.now += 11  # the first failure leaves the window
    assert not circuit.record_failure("crash 2")
    assert not circuit.record_failure("crash 3")
    assert not circuit.is_open
    assert circuit.record_failure("timeout 4")
    assert circuit.is_open
    assert circuit.reason is not None and "last: timeout 4" in circuit.reason
    assert not circuit.record_failure("crash 5")  # already open: reported once


def test_probes_are_due_after_the_cooldown_which_doubles_on_failure() -> None:
    clock = _Clock()
    circuit = CircuitBreaker(threshold=1, window_s=10, cooldown_s=5, clock=clock)
    circuit.record_failure("crash")
    assert not circuit.probe_due() and circuit.retry_after_s() == 5
    clock.now += 5
    assert circuit.probe_due()
    circuit.reopen("health check failed")
    assert circuit.reason is not None and "probe failed" in circuit.reason
    clock.now += 9
    assert not circuit.probe_due()
    clock.now += 1
    assert circuit.probe_due()
    circuit.close()
    assert not circuit.is_open and circuit.reason is None and circuit.retry_after_s() == 0


@pytest.mark.slow
def test_repeated_crashes_open_the_circuit_and_a_probe_closes_it(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sick = tmp_path / "sick"
    monkeypatch.setenv("VISOR_TEST_CRASHY_SICK_FILE", str(sick))  # workers inherit it
    client: TestClient = make_client(
        plugin_sources("crashy"), circuit_failures=2, circuit_cooldown_s=0.3
    )

    def run(tool: str) -> Any:
        return client.post(f"/v1/plugins/crashy/tools/{tool}/run", json={})

    def health() -> dict[str, Any]:
        body: dict[str, Any] = client.get("/v1/plugins/crashy/health").json()
        return body

    assert run("pid").status_code == 200
    first = run("exit")
    assert first.json()["error"]["details"]["code"] == "worker_crashed"
    assert health()["state"] == "FAILED"  # one crash: FAILED until a call succeeds
    assert run("pid").status_code == 200
    assert health()["state"] == "RUNNING"

    sick.touch()  # from now on the plugin's health check fails
    second = run("segfault")  # the second loss within the window opens the circuit
    assert second.json()["error"]["details"]["code"] == "worker_crashed"
    assert "circuit open" in second.json()["error"]["message"]
    state = health()
    assert state["state"] == "FAILED" and "circuit open" in state["reason"]

    refused = run("pid")
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "PluginError"
    assert refused.json()["error"]["details"]["code"] == "plugin_unavailable"
    errors = health()["error_count"]

    # the background probe runs after the cooldown, fails while the plugin is sick …
    eventually(lambda: "probe failed" in (health()["reason"] or ""), "a failed probe")
    assert health()["state"] == "FAILED"
    # … and brings it back once the health check passes again
    sick.unlink()
    eventually(lambda: health()["state"] == "INITIALIZED", "the probe to close the circuit")
    assert health()["reason"] is None
    assert run("pid").status_code == 200
    final = health()
    assert final["state"] == "RUNNING" and final["error_count"] == errors
