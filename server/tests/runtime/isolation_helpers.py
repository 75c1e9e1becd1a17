"""Helpers for the process-isolation tests: waiting without sleeping blindly, finding workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import psutil
from helpers import plugin_sources

from app.plugins.loader.plugin_loader import load_plugins
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner

T = TypeVar("T")


def eventually(check: Callable[[], T], what: str, timeout_s: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after a while."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def worker_processes() -> list[psutil.Process]:
    """This process's spawned worker processes (not multiprocessing's resource tracker)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != "zombie":
                found.append(child)
        except psutil.Error:
            continue
    return found


def gone(pids: Iterable[int]) -> bool:
    """True when none of ``pids`` is a live process any more."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@dataclass
class Stack:
    """A registry, a ProcessExecutor and a ToolRunner over them, with plugins started."""

    registry: PluginRegistry
    executor: ProcessExecutor
    runner: ToolRunner

    def run(self, plugin: str, tool: str, payload: dict[str, Any] | None = None) -> Any:
        return self.runner.run(plugin, payload or {}, tool)

    def code(self, plugin: str, tool: str, payload: dict[str, Any] | None = None) -> str | None:
        _, error = self.run(plugin, tool, payload)
        return error["error"]["details"]["code"] if error else None


def start_stack(*names: str, timeout_s: float = 10.0, **options: Any) -> Stack:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(plugin_sources(*names)))
    executor = ProcessExecutor(ProcessOptions(**options), registry=registry)
    for record in registry.records():
        executor.start_plugin(record)
        registry.transition(record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED})
    runner = ToolRunner(registry=registry, executor=executor, default_timeout_s=timeout_s)
    return Stack(registry, executor, runner)
