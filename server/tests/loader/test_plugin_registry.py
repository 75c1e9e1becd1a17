"""PluginRegistry: the state machine, exact metrics, and thread safety."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_registry import (
    ALLOWED_TRANSITIONS,
    ExecutionOutcome,
    IllegalTransition,
    PluginRecord,
    PluginRegistry,
    PluginState,
    get_registry,
)


class _Two(Plugin):
    name = "two"
    version = "1.0"

    @tool
    def a(self) -> dict:
        return {}

    @tool
    def b(self) -> dict:
        return {}


def _registry(state: PluginState = PluginState.INITIALIZED) -> PluginRegistry:
    registry = PluginRegistry()
    registry.add(PluginRecord(name="two", state=state, plugin_cls=_Two, tools=_Two.tool_specs()))
    return registry


def test_get_registry_is_a_singleton() -> None:
    assert get_registry() is get_registry()
    assert isinstance(get_registry(), PluginRegistry)


@pytest.mark.parametrize("current", list(PluginState))
@pytest.mark.parametrize("target", list(PluginState))
def test_transitions_follow_the_documented_table(current: PluginState, target: PluginState) -> None:
    registry = _registry(current)
    if target == current or target in ALLOWED_TRANSITIONS[current]:
        registry.transition("two", target, "why")
        assert registry.state("two") is target
    else:
        with pytest.raises(IllegalTransition):
            registry.transition("two", target)
        assert registry.state("two") is current


def test_outcomes_are_not_lifecycle_states() -> None:
    assert "SUCCESS" not in {s.value for s in PluginState}
    assert "ERROR" not in {s.value for s in PluginState}


def test_only_from_is_a_compare_and_set() -> None:
    registry = _registry(PluginState.RUNNING)
    assert not registry.transition("two", PluginState.INITIALIZED, only_from={PluginState.LOADED})
    assert registry.state("two") is PluginState.RUNNING


def test_reason_shown_for_failed_and_cleared_on_recovery() -> None:
    registry = _registry(PluginState.RUNNING)
    registry.update_execution_metrics("two", "FAILED", 5.0, True, reason="worker crashed")
    health = registry.health("two")
    assert health is not None
    assert (health.state, health.reason) == (PluginState.FAILED, "worker crashed")
    registry.update_execution_metrics("two", "SUCCESS", 1.0, False)
    health = registry.health("two")
    assert health is not None
    assert (health.state, health.reason) == (PluginState.RUNNING, None)


def test_ordinary_errors_do_not_take_a_plugin_down() -> None:
    registry = _registry(PluginState.RUNNING)
    for _ in range(50):
        registry.update_execution_metrics("two", "ERROR", 1.0, True)
    assert registry.state("two") is PluginState.RUNNING


def test_first_success_moves_initialized_to_running() -> None:
    registry = _registry(PluginState.INITIALIZED)
    registry.update_execution_metrics("two", "SUCCESS", 1.0, False)
    assert registry.state("two") is PluginState.RUNNING


def test_metrics_true_running_mean_and_fields() -> None:
    registry = _registry()
    samples = [(10.0, "SUCCESS"), (20.0, "ERROR"), (60.0, "SUCCESS"), (2.0, "UNAVAILABLE")]
    for elapsed, outcome in samples:
        registry.update_execution_metrics("two", outcome, elapsed, outcome != "SUCCESS", tool="a")
    health = registry.health("two")
    assert health is not None
    assert health.success_count == 2
    assert health.error_count == 2
    assert health.last_execution_time_ms == 2.0
    assert health.avg_execution_time_ms == pytest.approx(23.0)  # not (old+new)/2 == 16.5
    assert health.last_execution_state is ExecutionOutcome.UNAVAILABLE
    assert health.last_used is not None
    datetime.fromisoformat(health.last_used.replace("Z", "+00:00"))
    assert health.tools["a"].calls == 4
    assert health.tools["a"].errors == 2
    assert health.tools["b"].calls == 0
    assert health.p50_ms in (10.0, 20.0)
    assert health.p95_ms == 60.0


def test_health_has_the_spec_fields() -> None:
    health = _registry().health("two")
    assert health is not None
    data = health.model_dump()
    for key in (
        "name",
        "state",
        "description",
        "version",
        "reason",
        "uptime_seconds",
        "last_used",
        "success_count",
        "error_count",
        "last_execution_time_ms",
        "avg_execution_time_ms",
    ):
        assert key in data


def test_unknown_plugin_is_ignored_not_raised() -> None:
    registry = _registry()
    assert registry.update_execution_metrics("nope", "SUCCESS", 1.0, False) is False


def test_unknown_tool_names_do_not_mint_per_tool_entries() -> None:
    registry = _registry()
    registry.update_execution_metrics("two", "ERROR", 1.0, True, tool="../../etc")
    health = registry.health("two")
    assert health is not None
    assert set(health.tools) == {"a", "b"}
    assert health.error_count == 1


def test_concurrent_updates_and_reads_are_exact() -> None:
    registry = _registry()
    threads_n, per_thread = 16, 2000
    barrier = threading.Barrier(threads_n + 2)
    stop = threading.Event()
    read_errors: list[BaseException] = []

    def writer(index: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            ok = (i + index) % 3 != 0
            registry.update_execution_metrics(
                "two",
                "SUCCESS" if ok else "ERROR",
                float(i % 10),
                not ok,
                tool="a" if i % 2 else "b",
            )

    def reader() -> None:
        barrier.wait()
        try:
            while not stop.is_set():
                registry.health_all()
                registry.counts_by_state()
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            read_errors.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()

    assert not read_errors
    health = registry.health("two")
    assert health is not None
    total = threads_n * per_thread
    expected_errors = sum(
        1 for index in range(threads_n) for i in range(per_thread) if (i + index) % 3 == 0
    )
    assert health.success_count + health.error_count == total
    assert health.error_count == expected_errors
    assert health.tools["a"].calls + health.tools["b"].calls == total
    expected_mean = sum(float(i % 10) for i in range(per_thread)) / per_thread
    assert health.avg_execution_time_ms == pytest.approx(expected_mean, rel=1e-9)


def test_observers_see_every_call_and_can_unsubscribe() -> None:
    registry = _registry()
    seen = []
    unsubscribe = registry.subscribe(seen.append)
    registry.record_call("two", "a", ExecutionOutcome.SUCCESS, 1.0)
    registry.record_call("ghost", None, ExecutionOutcome.ERROR, 1.0, code="plugin_not_found")
    unsubscribe()
    registry.record_call("two", "a", ExecutionOutcome.SUCCESS, 1.0)
    assert [(c.plugin, c.known_plugin) for c in seen] == [("two", True), ("ghost", False)]
