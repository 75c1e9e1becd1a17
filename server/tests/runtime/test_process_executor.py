"""ProcessExecutor through the real ToolRunner: results, errors, progress, cancel, backpressure."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from isolation_helpers import Stack, eventually, gone, start_stack

from app.plugins.loader.plugin_loader import load_plugins
from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry, PluginState
from app.plugins.runtime.executor import CallContext, call_context
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.process import ProcessOptions
from app.plugins.runtime.routing import RoutingExecutor
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = pytest.mark.slow

RESULT_LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    stack = start_stack("crashy", "steady", circuit_failures=1000, max_result_bytes=RESULT_LIMIT)
    yield stack
    stack.executor.shutdown(2)


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        box["value"] = fn(*args)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def test_tools_run_in_warm_worker_processes(stack: Stack) -> None:
    pids = {stack.run("steady", "echo", {"text": "hi"})[0]["pid"] for _ in range(20)}
    assert os.getpid() not in pids
    assert pids <= set(stack.executor.pids("steady"))
    result, error = stack.run("steady", "echo", {"text": "héllo"})
    assert error == {} and result["text"] == "héllo"
    assert stack.registry.health("steady").state is PluginState.RUNNING  # type: ignore[union-attr]


def test_starting_a_started_plugin_keeps_its_workers(stack: Stack) -> None:
    before = stack.executor.pids("steady")
    record = stack.registry.get("steady")
    assert record is not None
    stack.executor.start_plugin(record)  # e.g. concurrent first calls racing to start it
    assert stack.executor.pids("steady") == before


def test_async_tools_run_in_the_worker(stack: Stack) -> None:
    result, error = stack.run("steady", "aecho", {"text": "async"})
    assert error == {} and result["text"] == "async" and result["pid"] != os.getpid()


def test_progress_travels_back_from_the_worker(stack: Stack) -> None:
    reports: list[tuple[float, str | None]] = []
    with call_context(progress=lambda f, m: reports.append((f, m))):
        result, error = stack.run("steady", "sleep", {"seconds": 0.2, "steps": 4})
    assert error == {} and result["slept"] == 0.2
    assert reports[-1] == (1.0, "step 4")
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)


@pytest.mark.parametrize(
    ("tool", "payload", "error_type", "code"),
    [
        ("raise_error", {}, "ExecutionError", "tool_error"),
        ("bad_input", {}, "ValidationError", "invalid_input"),
        ("unavailable", {}, "PluginError", "plugin_unavailable"),
        ("opaque", {}, "ValidationError", "invalid_output"),
        ("listing", {}, "ValidationError", "invalid_output"),
        ("huge", {"mb": 4}, "ValidationError", "invalid_output"),
    ],
)
def test_plugin_errors_keep_their_code_and_the_worker(
    stack: Stack, tool: str, payload: dict[str, Any], error_type: str, code: str
) -> None:
    before = stack.run("crashy", "pid")[0]["pid"]
    result, error = stack.run("crashy", tool, payload)
    assert result == {}
    assert (error["error"]["type"], error["error"]["details"]["code"]) == (error_type, code)
    assert stack.run("crashy", "pid")[0]["pid"] == before  # an ordinary error keeps the worker


def test_a_raising_tool_reports_the_workers_traceback(stack: Stack) -> None:
    _, error = stack.run("crashy", "raise_error")
    assert error["error"]["message"] == (
        "tool crashy.raise_error raised RuntimeError: crashy raised on purpose"
    )
    assert "crashy.py" in error["_internal"]["traceback"]
    assert "Traceback" not in error["error"]["message"]


def test_invalid_input_details_survive_the_trip(stack: Stack) -> None:
    _, error = stack.run("crashy", "bad_input")
    assert error["error"]["details"] == {"field": "everything", "code": "invalid_input"}


def test_a_huge_result_is_refused_in_the_worker(stack: Stack) -> None:
    _, error = stack.run("crashy", "huge", {"mb": 4})
    assert error["error"]["details"]["limit_bytes"] == RESULT_LIMIT


def test_sys_exit_in_a_tool_is_a_tool_error_and_the_worker_is_replaced(stack: Stack) -> None:
    assert stack.code("crashy", "sys_exit") == "tool_error"
    assert stack.run("crashy", "pid")[1] == {}  # the replacement serves the next call


def test_cancel_kills_the_running_tool(stack: Stack) -> None:
    before = stack.run("crashy", "pid")[0]["pid"]
    ctx = CallContext()

    def hang() -> Any:
        with call_context(ctx):
            return stack.run("crashy", "hang")

    thread, box = _in_thread(hang)
    pool = stack.executor.pool("crashy")
    assert pool is not None
    eventually(lambda: pool.stats()["busy"] == 1, "the hang call to start")
    replaced, recycled = pool.stats()["replaced"], pool.stats()["recycled"]
    ctx.cancel()
    thread.join(10)
    _, error = box["value"]
    assert error["error"]["details"]["code"] == "cancelled"
    assert eventually(lambda: gone([before]), "the cancelled worker to be gone")
    assert stack.run("crashy", "pid")[0]["pid"] != before
    # The caller chose it: the worker is recycled, not "replaced" as after a failure.
    assert (pool.stats()["replaced"], pool.stats()["recycled"]) == (replaced, recycled + 1)


def test_sigkill_from_outside_costs_the_call_in_flight_only(stack: Stack) -> None:
    """One worker: a call is running, another is queued; the worker is killed."""
    victim = stack.run("crashy", "pid")[0]["pid"]
    running, running_box = _in_thread(stack.run, "crashy", "sleep", {"seconds": 30})
    pool = stack.executor.pool("crashy")
    assert pool is not None
    eventually(lambda: pool.stats()["busy"] == 1, "the sleep call to start")
    queued, queued_box = _in_thread(stack.run, "crashy", "pid")
    eventually(lambda: pool.stats()["admitted"] == 2, "the second call to queue")

    os.kill(victim, signal.SIGKILL)
    running.join(10)
    queued.join(30)
    _, error = running_box["value"]
    assert error["error"]["details"]["code"] == "worker_crashed"
    assert error["error"]["details"]["signal"] == "SIGKILL"
    result, error = queued_box["value"]
    assert error == {} and result["pid"] != victim


def test_worker_output_goes_to_the_log_tagged_with_the_plugin(stack: Stack) -> None:
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Keep()
    logger = logging.getLogger("visor.plugin.crashy")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        result, error = stack.run("crashy", "garbage")
        assert error == {} and result == {"ok": True}
        lines = eventually(
            lambda: (
                [r.getMessage() for r in records if "to stderr" in r.getMessage()]
                and [r.getMessage() for r in records]
            ),
            "the worker's output in the log",
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    text = "\n".join(lines)
    assert "garbage on stdout" in text
    assert "\\x1b[31mred on fd 2" in text  # control characters are escaped
    assert "\x1b" not in text


def test_a_full_queue_is_refused_at_once_with_retry_after() -> None:
    stack = start_stack("steady", workers={"steady": 1}, queue_sizes={"steady": 1})
    try:
        contexts = [CallContext(), CallContext()]

        def slow(ctx: CallContext) -> Any:
            with call_context(ctx):
                return stack.run("steady", "sleep", {"seconds": 60, "steps": 600})

        threads = [_in_thread(slow, ctx) for ctx in contexts]
        pool = stack.executor.pool("steady")
        assert pool is not None
        eventually(lambda: pool.stats()["admitted"] == 2, "one running and one queued call")

        _, error = stack.run("steady", "echo", {"text": "one too many"})
        assert error["error"]["type"] == "ExecutionError"
        assert error["error"]["details"]["code"] == "overloaded"
        assert error["error"]["details"]["retry_after_s"] >= 1
        assert stack.registry.health("steady").state is not PluginState.FAILED  # type: ignore[union-attr]

        for ctx in contexts:
            ctx.cancel()
        codes = []
        for thread, box in threads:
            thread.join(10)
            codes.append(box["value"][1]["error"]["details"]["code"])
        assert codes == ["cancelled", "cancelled"]
        assert stack.run("steady", "echo", {"text": "room again"})[1] == {}
    finally:
        stack.executor.shutdown(2)


def test_a_busy_plugin_boots_more_workers_up_to_its_limit() -> None:
    """One warm worker per plugin at rest; calls that wait for a worker bring up more."""
    stack = start_stack("steady", workers={"steady": 2})
    try:
        assert len(stack.executor.pids("steady")) == 1
        calls = [CallContext(), CallContext()]

        def slow(ctx: CallContext) -> Any:
            with call_context(ctx):
                return stack.run("steady", "sleep", {"seconds": 60, "steps": 600})

        threads = [_in_thread(slow, ctx) for ctx in calls]
        pool = stack.executor.pool("steady")
        assert pool is not None
        eventually(lambda: pool.stats()["busy"] == 2, "a second worker to boot and take a call")
        assert len(stack.executor.pids("steady")) == 2
        for ctx in calls:
            ctx.cancel()
        for thread, _ in threads:
            thread.join(10)
        eventually(lambda: len(stack.executor.pids("steady")) >= 1, "replacements")
        assert len(stack.executor.pids("steady")) <= 2  # never more than the limit
    finally:
        stack.executor.shutdown(2)


def test_startup_failures_are_reported_with_their_reason() -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(_sources("crashy_startup", "missing_extra")))
    stack = start_stack()  # an empty executor to start the broken plugins on
    try:
        with pytest.raises(Exception) as failed:
            stack.executor.start_plugin(_record(registry, "crashy_startup"))
        assert "OSError: model weights not found" in str(failed.value)
        assert getattr(failed.value, "code", None) == "worker_crashed"
        with pytest.raises(Exception) as unavailable:
            stack.executor.start_plugin(_record(registry, "missing_extra"))
        assert type(unavailable.value).__name__ == "PluginUnavailable"
        assert "missing-extra" in str(unavailable.value)
    finally:
        stack.executor.shutdown(1)


def test_routing_follows_force_and_the_operators_overrides() -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(_sources("echo", "steady")))
    stack = start_stack()
    for force, overrides, expected in [
        (False, {}, {"echo": "process", "steady": "process"}),
        (
            False,
            {"steady": "in_process", "echo": "process"},
            {"echo": "process", "steady": "in_process"},
        ),
        (True, {"echo": "process"}, {"echo": "in_process", "steady": "in_process"}),
    ]:
        routing = RoutingExecutor(
            stack.executor, InProcessExecutor(), force_in_process=force, overrides=overrides
        )
        runner = ToolRunner(registry=registry, executor=routing)
        try:
            for name, mode in expected.items():
                record = _record(registry, name)
                routing.start_plugin(record)
                assert record.isolation == mode
                result, error = runner.run(name, {"text": "x"}, name if name == "echo" else "echo")
                assert error == {}
                assert (result["pid"] == os.getpid()) is (mode == "in_process")
        finally:
            for name in expected:
                routing.stop_plugin(name)
    stack.executor.shutdown(1)


def test_pool_settings_take_the_operator_then_the_plugin_then_the_default() -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(_sources("crashy", "steady")))
    crashy, steady = _record(registry, "crashy"), _record(registry, "steady")
    defaults = ProcessOptions(memory_limit_mb=1000, queue_size=7)
    assert defaults.pool_config(steady).workers == 2  # SteadyPlugin.workers
    assert defaults.pool_config(steady).memory_limit_mb == 1000
    assert defaults.pool_config(crashy).memory_limit_mb == 512  # CrashyPlugin.memory_limit_mb
    assert defaults.pool_config(crashy).queue_size == 7
    operator = ProcessOptions(
        workers={"steady": 3},
        memory_limits_mb={"crashy": 64, "steady": 0},
        queue_sizes={"crashy": 0},
    )
    assert operator.pool_config(steady).workers == 3
    assert operator.pool_config(crashy).memory_limit_mb == 64
    assert operator.pool_config(steady).memory_limit_mb is None  # 0: unlimited
    assert operator.pool_config(crashy).queue_size == 0


def _sources(*names: str) -> Any:
    from helpers import plugin_sources

    return plugin_sources(*names)


def _record(registry: PluginRegistry, name: str) -> PluginRecord:
    record = registry.get(name)
    assert record is not None
    return record
