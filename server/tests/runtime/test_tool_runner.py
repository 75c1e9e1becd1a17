"""ToolRunner's contract, clause by clause (SPEC §2), on the in-process executor and on
Ray actors (the ``contract_executor`` fixture)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import plugin_sources

from app.plugins.base import InvalidInput, Plugin, PluginUnavailable, tool
from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import CallContext, Executor, call_context
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.tool_runner import ToolRunner


class _Picky(Plugin):
    name = "picky"
    version = "1"

    @tool(
        input_schema={
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 0}},
            "required": ["n"],
            "additionalProperties": False,
        },
        output_schema={"type": "object", "properties": {"double": {"type": "integer"}}},
    )
    def double(self, args: dict) -> dict:
        if args["n"] == 13:
            raise InvalidInput("13 is unlucky", details={"field": "n"})
        if args["n"] == 99:
            raise PluginUnavailable("model not installed")
        return {"double": args["n"] * 2}

    @tool(timeout_s=0.1)
    def hang(self) -> dict:
        time.sleep(0.3)  # in-process limits are cooperative: the overrun is reported
        return {}


@pytest.fixture
def runner(contract_executor: Executor) -> Iterator[ToolRunner]:
    registry = PluginRegistry()
    sources = [
        *plugin_sources("echo", "raises", "returns_none", "returns_list", "not_json", "bad_output"),
        source_for_class(_Picky),
    ]
    registry.replace_all(load_plugins(sources))
    yield ToolRunner(registry=registry, executor=contract_executor)


def _assert_exclusive(result: dict[str, Any], error: dict[str, Any]) -> None:
    assert isinstance(result, dict) and isinstance(error, dict)
    assert (result == {}) != (error == {}), (result, error)


def _code(error: dict[str, Any]) -> str:
    return str(error["error"]["details"]["code"])


def test_constructs_with_no_arguments() -> None:
    runner = ToolRunner()
    result, error = runner.run("certainly-not-installed", {})
    _assert_exclusive(result, error)
    assert _code(error) == "plugin_not_found"


def test_success_returns_result_and_empty_error(runner: ToolRunner) -> None:
    result, error = runner.run("echo", {"text": "hi"}, "echo")
    assert error == {}
    assert result["text"] == "hi"


@pytest.mark.parametrize(
    ("plugin", "payload", "tool", "code", "etype"),
    [
        ("nope", {}, None, "plugin_not_found", "PluginError"),
        ("echo", {}, "nope", "tool_not_found", "PluginError"),
        ("echo", {"text": 5}, "echo", "invalid_input", "ValidationError"),
        ("picky", {"n": -1}, "double", "invalid_input", "ValidationError"),
        ("picky", {"n": 1, "extra": True}, "double", "invalid_input", "ValidationError"),
        ("picky", {"n": 13}, "double", "invalid_input", "ValidationError"),
        ("picky", {"n": 99}, "double", "plugin_unavailable", "PluginError"),
        ("raises", {}, None, "tool_error", "ExecutionError"),
        ("returns_none", {}, None, "invalid_output", "ValidationError"),
        ("returns_list", {}, None, "invalid_output", "ValidationError"),
        ("not_json", {}, None, "invalid_output", "ValidationError"),
        ("bad_output", {}, None, "invalid_output", "ValidationError"),
        ("picky", {}, "hang", "timeout", "ExecutionError"),
    ],
)
def test_every_failure_is_an_envelope(
    runner: ToolRunner,
    plugin: str,
    payload: dict[str, Any],
    tool: str | None,
    code: str,
    etype: str,
) -> None:
    result, error = runner.run(plugin, payload, tool)
    _assert_exclusive(result, error)
    assert error["error"]["type"] == etype
    assert _code(error) == code
    assert set(error["error"]) == {"type", "message", "details", "plugin", "timestamp"}
    assert error["error"]["message"]


def test_tool_error_keeps_the_traceback_internal(runner: ToolRunner) -> None:
    _, error = runner.run("raises", {})
    assert "boom: the tool exploded" in error["error"]["message"]
    assert "Traceback" not in error["error"]["message"]
    assert "RuntimeError" in error["_internal"]["traceback"]
    assert "hostile.py" in error["_internal"]["traceback"]


@pytest.mark.parametrize(
    ("plugin", "payload"),
    [
        (None, {}),
        (42, {}),
        ("echo", None),
        ("echo", []),
        ("echo", "text"),
        ("echo", {"text": object()}),
    ],
)
def test_never_raises_on_garbage(runner: ToolRunner, plugin: Any, payload: Any) -> None:
    result, error = runner.run(plugin, payload)
    _assert_exclusive(result, error)
    assert error["error"]["type"] in ("ValidationError", "PluginError")


def test_tool_selection_argument_then_payload_then_default(runner: ToolRunner) -> None:
    # argument wins over payload
    result, error = runner.run("echo", {"tool": "aecho", "text": "a"}, "echo")
    assert error == {} and result["text"] == "a"
    # payload["tool"] selects, and is not passed to the tool's schema
    result, error = runner.run("echo", {"tool": "noop"})
    assert (result, error) == ({}, {}) or error == {}
    health = runner.registry.health("echo")
    assert health is not None and health.tools["noop"].calls == 1
    # the plugin's declared default
    result, error = runner.run("echo", {"text": "d"})
    assert error == {} and result["text"] == "d"
    assert runner.registry.health("echo").tools["echo"].calls == 2  # type: ignore[union-attr]


def test_no_hard_coded_default_when_a_plugin_has_several_tools(runner: ToolRunner) -> None:
    _, error = runner.run("picky", {"n": 1})
    assert _code(error) == "tool_not_found"
    assert error["error"]["details"]["available"] == ["double", "hang"]


def test_metrics_recorded_for_every_outcome(runner: ToolRunner) -> None:
    registry = runner.registry
    runner.run("picky", {"n": 2}, "double")  # success
    runner.run("picky", {"n": "x"}, "double")  # validation failure
    runner.run("picky", {}, "unknown-tool")  # unknown tool
    runner.run("picky", {"n": 13}, "double")  # tool-raised invalid input
    health = registry.health("picky")
    assert health is not None
    assert health.success_count == 1
    assert health.error_count == 3
    assert health.tools["double"].calls == 3
    assert health.state is PluginState.RUNNING
    assert health.last_execution_time_ms is not None


def test_timeout_marks_failed_and_success_recovers(runner: ToolRunner) -> None:
    _, error = runner.run("picky", {}, "hang")
    assert _code(error) == "timeout"
    assert runner.registry.state("picky") is PluginState.FAILED
    result, error = runner.run("picky", {"n": 1}, "double")
    assert error == {} and result == {"double": 2}
    assert runner.registry.state("picky") is PluginState.RUNNING


def test_unavailable_plugin_fails_fast(runner: ToolRunner) -> None:
    runner.registry.transition("echo", PluginState.UNAVAILABLE, "dependency lost")
    _, error = runner.run("echo", {"text": "x"})
    assert _code(error) == "plugin_unavailable"
    assert "dependency lost" in error["error"]["message"]
    health = runner.registry.health("echo")
    assert health is not None and health.error_count == 1


def test_async_tools_are_awaited(runner: ToolRunner) -> None:
    result, error = runner.run("echo", {"text": "async"}, "aecho")
    assert error == {} and result["text"] == "async"


def test_progress_and_cancel_travel_through_the_call_context(runner: ToolRunner) -> None:
    seen: list[tuple[float, str | None]] = []
    with call_context(progress=lambda f, m: seen.append((f, m))):
        result, error = runner.run("echo", {"seconds": 0.01, "steps": 4}, "sleep")
    assert error == {} and result == {"slept": True}
    assert [f for f, _ in seen] == [0.25, 0.5, 0.75, 1.0]

    ctx = CallContext()
    threading.Timer(0.2, ctx.cancel).start()
    started = time.monotonic()
    with call_context(ctx):
        _, error = runner.run("echo", {"seconds": 30, "steps": 300}, "sleep")
    assert _code(error) == "cancelled"
    assert time.monotonic() - started < 10


def test_caller_deadline_tightens_the_tool_limit(runner: ToolRunner) -> None:
    with call_context(timeout_s=0.1):
        _, error = runner.run("echo", {"seconds": 5, "steps": 50}, "sleep")
    assert _code(error) == "timeout"


def test_huge_results_are_refused() -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(plugin_sources("echo")))
    runner = ToolRunner(registry=registry, executor=InProcessExecutor(), max_result_bytes=100)
    _, error = runner.run("echo", {"text": "x" * 500})
    assert _code(error) == "invalid_output"
    assert error["error"]["details"]["limit_bytes"] == 100


def test_a_bug_in_visor_is_an_internal_error(
    runner: ToolRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("registry bug")

    monkeypatch.setattr(ToolRunner, "_validated_input", broken)
    result, error = runner.run("echo", {"text": "x"})
    _assert_exclusive(result, error)
    assert error["error"]["type"] == "InternalError"
    assert error["error"]["message"] == "internal error"
    assert "registry bug" in error["_internal"]["traceback"]


def test_counts_keep_the_callers_doing_apart_and_add_up(runner: ToolRunner) -> None:
    """A cancel and refused input are counted apart from failures, per plugin and per tool,
    and every call is counted once: the tools' calls plus the tool-less ones are the total."""
    registry = runner.registry
    assert runner.run("picky", {"n": 2}, "double")[1] == {}
    assert _code(runner.run("picky", {"n": -1}, "double")[1]) == "invalid_input"
    assert _code(runner.run("picky", {"n": 13}, "double")[1]) == "invalid_input"
    assert _code(runner.run("picky", {"n": 1}, "nope")[1]) == "tool_not_found"
    assert _code(runner.run("picky", {}, "hang")[1]) == "timeout"
    cancelled = CallContext()
    cancelled.cancel()
    with call_context(cancelled):
        assert _code(runner.run("picky", {"n": 3}, "double")[1]) == "cancelled"

    health = registry.health("picky")
    assert health is not None
    assert (health.success_count, health.error_count) == (1, 5)
    assert (health.failure_count, health.invalid_input_count, health.cancelled_count) == (1, 3, 1)
    assert health.no_tool_count == 1  # the unknown tool: no tool to count it under
    double, hang = health.tools["double"], health.tools["hang"]
    assert (double.calls, double.errors, double.invalid_input, double.cancelled) == (4, 3, 2, 1)
    assert (double.failures, hang.calls, hang.failures) == (0, 1, 1)
    tool_calls = sum(t.calls for t in health.tools.values())
    assert tool_calls + health.no_tool_count == health.success_count + health.error_count
    # A cancel or a refused input says nothing about the plugin's health.
    runner.run("picky", {"n": 2}, "double")
    assert registry.health("picky").state is PluginState.RUNNING  # type: ignore[union-attr]


def test_the_contract_signature_counts_a_cancel_apart(runner: ToolRunner) -> None:
    """SPEC §2's four-argument call still counts; ``cancelled=True`` stays understood."""
    registry = runner.registry
    assert registry.update_execution_metrics("echo", "ERROR", 2.0, True)
    assert registry.update_execution_metrics("echo", "ERROR", 4.0, True, cancelled=True)
    assert registry.update_execution_metrics("echo", "SUCCESS", 6.0, False)
    health = registry.health("echo")
    assert health is not None
    assert (health.success_count, health.error_count, health.avg_execution_time_ms) == (1, 2, 4.0)
    assert (health.failure_count, health.cancelled_count, health.invalid_input_count) == (1, 1, 0)
