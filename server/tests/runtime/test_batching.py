"""Dynamic batching through the real ToolRunner and worker processes: calls lined up behind a
running one go to the worker as one batch, and each keeps its own answer, error, deadline
and cancel; the batch sizes reach Prometheus."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batching_plugins import BatchyPlugin
from isolation_helpers import Stack, eventually

from app.observability.metrics import PrometheusMetrics
from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import CallContext, call_context
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(BatchyPlugin)]))
    executor = ProcessExecutor(ProcessOptions(circuit_failures=1000), registry=registry)
    for record in registry.records():
        executor.start_plugin(record)
        registry.transition(record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED})
    runner = ToolRunner(registry=registry, executor=executor, default_timeout_s=30)
    yield Stack(registry, executor, runner)
    executor.shutdown(2)


def _queued(stack: Stack, tool: str) -> int:
    pool = stack.executor.pool("batchy")
    assert pool is not None
    return len(pool._batchers[tool]._queue)


class _Calls:
    """Calls made on their own threads, each with its own call context."""

    def __init__(self, stack: Stack, tool: str) -> None:
        self.stack, self.tool = stack, tool
        self.threads: list[threading.Thread] = []
        self.answers: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def start(self, payload: dict[str, Any], ctx: CallContext | None = None) -> None:
        def run() -> None:
            with call_context(ctx or CallContext()):
                self.answers[payload["n"]] = self.stack.run("batchy", self.tool, payload)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive()


def _hold_then(stack: Stack, tool: str, tmp_path: Path, lined_up: list[Any]) -> _Calls:
    """One call holds the worker; ``lined_up`` (payload, ctx) pairs queue behind it; then
    the hold is released and everything is answered."""
    release = tmp_path / "release"
    calls = _Calls(stack, tool)
    calls.start({"n": 0, "hold": str(release)})
    eventually(lambda: stack.executor.pool("batchy").stats()["busy"] == 1, "the hold to run")
    for payload, ctx in lined_up:
        calls.start(payload, ctx)
    eventually(lambda: _queued(stack, tool) == len(lined_up), "the calls to line up")
    return calls


def test_calls_lined_up_run_as_one_batch_each_with_its_own_answer(
    stack: Stack, tmp_path: Path
) -> None:
    before = stack.executor.batch_sizes().get("batchy", {}).get("double", {})
    payloads = [{"n": 1}, {"n": 2, "fail": True}, {"n": 3}, {"n": 4}]
    calls = _hold_then(stack, "double", tmp_path, [(p, None) for p in payloads])
    (tmp_path / "release").touch()
    calls.join()
    after = stack.executor.batch_sizes()["batchy"]["double"]
    assert after.get(4, 0) - before.get(4, 0) == 1  # the four went as one batch
    pids = {result["pid"] for result, _ in calls.answers.values() if result}
    assert len(pids) == 1
    for n in (0, 1, 3, 4):
        result, error = calls.answers[n]
        assert error == {} and result["value"] == 2 * n
    result, error = calls.answers[2]
    assert result == {}
    assert error["error"]["details"]["code"] == "tool_error"
    assert "asked to fail on 2" in error["error"]["message"]

    # The same calls one at a time get the same answers, the failure included.
    for n, payload in zip((1, 2, 3, 4), payloads, strict=True):
        alone = stack.run("batchy", "double", payload)
        assert alone[0] == calls.answers[n][0]
        assert alone[1]["error"]["message"] if alone[1] else True
        if alone[1]:
            assert alone[1]["error"]["message"] == calls.answers[n][1]["error"]["message"]
            assert alone[1]["error"]["details"] == calls.answers[n][1]["error"]["details"]


def test_a_batch_without_a_batch_handler_runs_each_call_in_the_worker(
    stack: Stack, tmp_path: Path
) -> None:
    calls = _hold_then(stack, "plain", tmp_path, [({"n": n}, None) for n in (5, 6, 7)])
    (tmp_path / "release").touch()
    calls.join()
    assert [calls.answers[n][0]["value"] for n in (5, 6, 7)] == [10, 12, 14]
    assert stack.executor.batch_sizes()["batchy"]["plain"].get(3) == 1


def test_a_batched_call_keeps_its_own_deadline_and_cancel(stack: Stack, tmp_path: Path) -> None:
    worker = stack.executor.pids("batchy")
    cancelled = CallContext()
    lined_up = [
        ({"n": 11}, CallContext(timeout_s=0.2)),
        ({"n": 12}, cancelled),
        ({"n": 13}, None),
    ]
    calls = _hold_then(stack, "double", tmp_path, lined_up[1:])
    calls.start(*lined_up[0])  # its deadline passes while it waits in the queue
    eventually(lambda: 11 in calls.answers, "the short call to time out")
    assert calls.answers[11][1]["error"]["details"]["code"] == "timeout"
    cancelled.cancel()
    eventually(lambda: 12 in calls.answers, "the cancelled call to return")
    assert calls.answers[12][1]["error"]["details"]["code"] == "cancelled"
    assert 13 not in calls.answers and 0 not in calls.answers  # the others still wait
    (tmp_path / "release").touch()
    calls.join()
    assert calls.answers[13] == ({"value": 26, "pid": worker[0]}, {})
    assert calls.answers[0][0]["value"] == 0
    assert stack.executor.pids("batchy") == worker  # nobody's limit killed the worker


def test_calls_with_a_progress_listener_are_not_batched(stack: Stack) -> None:
    before = stack.executor.batch_sizes().get("batchy", {}).get("double", {})
    with call_context(progress=lambda fraction, message: None):
        result, error = stack.run("batchy", "double", {"n": 21})
    assert error == {} and result["value"] == 42
    assert stack.executor.batch_sizes().get("batchy", {}).get("double", {}) == before


def test_batch_sizes_are_a_prometheus_histogram() -> None:
    sizes = {"batchy": {"double": {1: 3, 4: 2}}}
    text = PrometheusMetrics(PluginRegistry(), lambda: sizes).render().decode()
    assert 'visor_batch_size_bucket{le="1",plugin="batchy",tool="double"} 3.0' in text
    assert 'visor_batch_size_bucket{le="4",plugin="batchy",tool="double"} 5.0' in text
    assert 'visor_batch_size_count{plugin="batchy",tool="double"} 5.0' in text
    assert 'visor_batch_size_sum{plugin="batchy",tool="double"} 11.0' in text


def test_batching_off_runs_every_call_alone() -> None:
    registry = PluginRegistry()
    (record,) = load_plugins([source_for_class(BatchyPlugin)])
    registry.replace_all([record])
    options = ProcessOptions(batching=False)
    assert options.pool_config(registry.get("batchy")).batching == {}  # type: ignore[arg-type]
    assert ProcessOptions().pool_config(registry.get("batchy")).concurrency == 8  # type: ignore[arg-type]
