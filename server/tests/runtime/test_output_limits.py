"""Issue 10 item 7: a tool's output is budgeted per call, and the log says what was dropped."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator

import pytest
from governed_plugins import FloodPlugin
from isolation_helpers import eventually

from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.process.output import CALL_LINES, OutputPump
from app.plugins.runtime.tool_runner import ToolRunner


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def flood_log() -> Iterator[_Keep]:
    handler = _Keep()
    logger = logging.getLogger("visor.plugin.flood")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_flood_of_output_is_cut_to_the_calls_budget(flood_log: _Keep) -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(FloodPlugin)]))
    executor = ProcessExecutor(ProcessOptions(), registry=registry)
    record = registry.get("flood")
    assert record is not None
    executor.start_plugin(record)
    registry.transition("flood", PluginState.INITIALIZED, only_from={PluginState.LOADED})
    runner = ToolRunner(registry=registry, executor=executor)
    try:
        printed = 20_000
        result, error = runner.run("flood", {"lines": printed, "width": 1000}, "flood")
        assert error == {} and result == {"printed": printed}
        result, error = runner.run("flood", {"lines": 1, "width": 3}, "flood")  # a new budget
        assert error == {}

        def summary() -> str | None:
            for r in flood_log.records:
                if "dropped" in r.getMessage():
                    return r.getMessage()
            return None

        message = eventually(summary, "the dropped-output summary")
        dropped = int(re.search(r"dropped (\d+) lines", message).group(1))  # type: ignore[union-attr]
        eventually(
            lambda: any(r.getMessage().endswith("] 0 xxx") for r in flood_log.records),
            "the next call's output, which has a budget again",
        )
        info = [r.getMessage() for r in flood_log.records if r.levelno == logging.INFO]
        first_call = [m for m in info if m.endswith("x" * 1000)]
        assert len(first_call) + dropped == printed  # every line logged or counted
        assert len(first_call) <= CALL_LINES  # the budget (its slow refill adds a few)
        warnings = [r for r in flood_log.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2  # "limit reached" and the summary: not 20,000 lines
    finally:
        executor.shutdown(1)


class _Slow(_Keep):
    """A log handler that takes its time, so the pump thread lags behind the worker."""

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(0.0005)
        super().emit(record)


def test_a_lagging_pump_still_counts_each_line_against_its_own_call() -> None:
    """The previous call's lines still in the pipe when the next call starts are read
    under the previous call's budget (this raced under load before)."""
    handler = _Slow()
    logger = logging.getLogger("visor.plugin.lagging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    pump = OutputPump()
    read_end, write_end = os.pipe()
    try:
        source = pump.add(read_end, "lagging", 4242)
        first = 300
        os.write(write_end, b"".join(f"first {i}\n".encode() for i in range(first)))
        source.begin_call()  # while the pump is still busy with the first call's lines
        os.write(write_end, b"second call\n")
        os.close(write_end)
        eventually(
            lambda: any(r.getMessage().endswith("second call") for r in handler.records),
            "the second call's line",
        )
    finally:
        pump.close()
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in handler.records]
    logged = sum(" first " in m for m in messages)
    summary = next(m for m in messages if "dropped" in m and "lines" in m)
    dropped = int(re.search(r"dropped (\d+) lines", summary).group(1))  # type: ignore[union-attr]
    assert logged + dropped == first
    assert CALL_LINES <= logged <= CALL_LINES + 2  # the budget, plus its slow refill
    assert messages.index(summary) < next(
        i for i, m in enumerate(messages) if m.endswith("second call")
    )
