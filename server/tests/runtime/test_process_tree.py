"""Issue 10 item 3: a tool's subprocesses die with its worker, and with the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from governed_plugins import SpawnerPlugin
from isolation_helpers import eventually, gone

from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = pytest.mark.slow


def _runner() -> tuple[ToolRunner, ProcessExecutor]:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(SpawnerPlugin)]))
    executor = ProcessExecutor(ProcessOptions(), registry=registry)
    record = registry.get("spawner")
    assert record is not None
    executor.start_plugin(record)
    registry.transition("spawner", PluginState.INITIALIZED, only_from={PluginState.LOADED})
    return ToolRunner(registry=registry, executor=executor, default_timeout_s=1.0), executor


def _child_pid(pid_file: Path) -> int:
    return int(eventually(lambda: pid_file.exists() and pid_file.read_text(), "the child pid"))


@pytest.mark.parametrize("mode", ["stay", "escape", "daemon"])
def test_a_timed_out_tools_subprocesses_are_killed_with_its_worker(
    tmp_path: Path, mode: str
) -> None:
    runner, executor = _runner()
    try:
        pid_file = tmp_path / "child.pid"
        _, error = runner.run("spawner", {"pid_file": str(pid_file), "mode": mode}, "spawn")
        assert error["error"]["details"]["code"] == "timeout"
        child = _child_pid(pid_file)
        eventually(lambda: gone([child]), f"the tool's child ({mode}) to die with its worker")
    finally:
        executor.shutdown(1)


@pytest.mark.parametrize("mode", ["stay", "escape", "daemon"])
def test_a_graceful_stop_kills_what_tools_started(tmp_path: Path, mode: str) -> None:
    """Issue 24 item 10: a child in its own session (or daemonised) survived a graceful
    stop, re-parented to PID 1; only the timeout kill found it."""
    runner, executor = _runner()
    pid_file = tmp_path / "child.pid"
    result, error = runner.run(
        "spawner", {"pid_file": str(pid_file), "mode": mode, "hang": False}, "spawn"
    )
    assert error == {}
    child: Any = result["child"]
    assert not gone([child])
    executor.shutdown(1)  # idle workers get a stop frame and exit by themselves
    eventually(lambda: gone([child]), f"the tool's child ({mode}) to die with the workers")
