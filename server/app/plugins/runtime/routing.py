"""RoutingExecutor: sends each plugin to process isolation or in-process execution.

A plugin's mode is the operator's alone: the debugging switch that forces everything
in-process, else the per-plugin ``plugin_isolation`` setting, else process isolation. A
plugin cannot opt itself out. The mode is decided when the plugin starts and written back
on its record, so the health API shows the mode it really runs in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry
from app.plugins.runtime.executor import Executor, ToolCall

PROCESS = "process"
IN_PROCESS = "in_process"


class RoutingExecutor:
    def __init__(
        self,
        process: Executor,
        in_process: Executor,
        *,
        force_in_process: bool = False,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.process = process
        self.in_process = in_process
        self._force_in_process = force_in_process
        self._overrides = dict(overrides or {})
        self._routes: dict[str, Executor] = {}
        self._lock = threading.Lock()

    def isolation_for(self, record: PluginRecord) -> str:
        if self._force_in_process:
            return IN_PROCESS
        mode = self._overrides.get(record.name, PROCESS)
        return IN_PROCESS if mode == IN_PROCESS else PROCESS

    def bind_registry(self, registry: PluginRegistry) -> None:
        for target in (self.process, self.in_process):
            bind = getattr(target, "bind_registry", None)
            if bind is not None:
                bind(registry)

    def _route(self, record: PluginRecord) -> Executor:
        target = self._routes.get(record.name)
        if target is None:
            mode = self.isolation_for(record)
            target = self.in_process if mode == IN_PROCESS else self.process
            record.isolation = mode
            with self._lock:
                self._routes[record.name] = target
        return target

    def batch_sizes(self) -> dict[str, dict[str, dict[int, int]]]:
        """Batch sizes of the batching tools in worker processes (see WorkerPool)."""
        sizes = getattr(self.process, "batch_sizes", None)
        return sizes() if sizes is not None else {}

    # -- the Executor protocol --------------------------------------------------------------

    def start_plugin(self, record: PluginRecord) -> None:
        with self._lock:
            self._routes.pop(record.name, None)  # (re)decide on every start: reload may change it
        self._route(record).start_plugin(record)

    def stop_plugin(self, name: str) -> None:
        with self._lock:
            target = self._routes.pop(name, None)
        for executor in (target,) if target is not None else (self.process, self.in_process):
            executor.stop_plugin(name)

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        return self._route(record).execute(record, call)

    def probe(self, record: PluginRecord) -> bool:
        return self._route(record).probe(record)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        done = threading.Thread(target=self.in_process.shutdown, args=(timeout_s,), daemon=True)
        done.start()
        self.process.shutdown(timeout_s)
        done.join(timeout_s)
