"""The overview's history: per-plugin buckets over time, fed by real ToolRunner calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources

from app.observability.history import CallHistory
from app.plugins.loader.plugin_loader import load_plugins
from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.executor import CallContext, call_context
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.tool_runner import ToolRunner


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runner() -> Iterator[ToolRunner]:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(plugin_sources("echo", "raises")))
    executor = InProcessExecutor()
    yield ToolRunner(registry=registry, executor=executor)
    executor.shutdown(1)


def test_buckets_count_each_kind_and_age_out(runner: ToolRunner) -> None:
    clock = Clock()
    history = CallHistory(runner.registry, bucket_s=10, buckets=3, clock=clock)
    history.attach()
    runner.run("echo", {"text": "a"}, "echo")
    runner.run("echo", {"text": 5}, "echo")  # refused input
    runner.run("raises", {})  # the tool failed
    runner.run("no-such-plugin", {})  # a client-chosen name gets no series
    clock.now += 10
    cancelled = CallContext()
    cancelled.cancel()
    with call_context(cancelled):
        runner.run("echo", {"text": "b"}, "echo")

    snap = history.snapshot()
    assert (snap.bucket_s, snap.buckets, snap.start) == (10, 3, 1_000_000.0 - 10)
    assert set(snap.plugins) == {"echo", "raises"}
    echo = snap.plugins["echo"]
    assert echo.calls == [0, 2, 1]
    assert (echo.invalid_input, echo.cancelled, echo.failed) == ([0, 1, 0], [0, 0, 1], [0, 0, 0])
    assert echo.mean_ms[0] is None and echo.mean_ms[1] is not None
    assert snap.plugins["raises"].failed == [0, 1, 0]

    clock.now += 20  # the first bucket leaves the window; an old slot is not reused as new
    assert history.snapshot().plugins["echo"].calls == [1, 0, 0]
    clock.now += 30
    assert history.snapshot().plugins == {}  # nothing in the window any more
    history.detach()
    runner.run("echo", {"text": "c"}, "echo")
    assert history.snapshot().plugins == {}


def test_the_overview_serves_the_history(make_client: object) -> None:
    client: TestClient = make_client(plugin_sources("echo"))  # type: ignore[operator]
    response = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "x"}})
    assert response.status_code == 200
    history = client.get("/ui/api/overview").json()["history"]
    assert sum(history["plugins"]["echo"]["calls"]) == 1
    assert len(history["plugins"]["echo"]["calls"]) == history["buckets"]
