"""ProcessExecutor: the executor seam's implementation for supervised worker processes.

It keeps one :class:`~.pool.WorkerPool` per plugin, a single output pump for all workers'
stdout/stderr and one monitor thread that probes plugins whose circuit is open. It tells
the registry about circuit changes (FAILED with a reason when it opens, back to INITIALIZED
when a probe passes); per-call outcomes stay ToolRunner's to record.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.base import PluginUnavailable
from app.plugins.loader.plugin_registry import (
    IllegalTransition,
    PluginRecord,
    PluginRegistry,
    PluginState,
)
from app.plugins.runtime.executor import ToolCall
from app.plugins.runtime.process.calls import StartupFailed
from app.plugins.runtime.process.circuit import CircuitBreaker
from app.plugins.runtime.process.config import PoolConfig, ProcessOptions
from app.plugins.runtime.process.output import OutputPump
from app.plugins.runtime.process.pool import WorkerPool

log = logging.getLogger("visor.runtime.process")

_MONITOR_INTERVAL_S = 0.25
_STOP_PLUGIN_TIMEOUT_S = 5.0


class ProcessExecutor:
    def __init__(
        self, options: ProcessOptions | None = None, *, registry: PluginRegistry | None = None
    ) -> None:
        self.options = options or ProcessOptions()
        self._registry = registry
        self._pump = OutputPump()
        self._lock = threading.Lock()
        self._pools: dict[str, WorkerPool] = {}
        self._start_locks: dict[str, threading.Lock] = {}
        self._probing: set[str] = set()
        self._start_failures: dict[str, tuple[float, str]] = {}  # name -> (when, why)
        self._closed = False
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()

    def bind_registry(self, registry: PluginRegistry) -> None:
        """Where circuit changes are reported (the app's registry)."""
        self._registry = registry

    # -- lifecycle --------------------------------------------------------------------------

    def start_plugin(self, record: PluginRecord) -> None:
        """Boot the plugin's workers; idempotent (a reload stops the plugin first)."""
        with self._start_lock(record.name):
            if record.name not in self._pools:
                self._start_locked(record)

    def _start_locked(self, record: PluginRecord) -> WorkerPool:
        if self._closed:
            raise VisorError(
                "the executor is shut down", code=ErrorCode.PLUGIN_UNAVAILABLE, plugin=record.name
            )
        config = self.options.pool_config(record)
        circuit = CircuitBreaker(
            threshold=self.options.circuit_failures,
            window_s=self.options.circuit_window_s,
            cooldown_s=self.options.circuit_cooldown_s,
        )
        pool = self._new_pool(record, config, circuit)
        try:
            pool.start()
        except StartupFailed as exc:
            self._start_failures[record.name] = (time.monotonic(), exc.message)
            if exc.unavailable:  # the plugin said why (e.g. a missing extra): one line
                log.warning("plugin %s is unavailable: %s", record.name, exc.message)
                raise PluginUnavailable(exc.message, plugin=record.name) from None
            if exc.traceback:
                log.warning("plugin %s failed to start:\n%s", record.name, exc.traceback.rstrip())
            raise VisorError(
                f"startup failed: {exc.message}", code=ErrorCode.WORKER_CRASHED, plugin=record.name
            ) from None
        self._start_failures.pop(record.name, None)
        with self._lock:
            self._pools[record.name] = pool
        self._ensure_monitor()
        log.info(
            "plugin %s: %d worker(s) ready (pids %s), up to %d on demand, queue %d",
            record.name,
            config.min_workers,
            ", ".join(str(p) for p in pool.pids()),
            config.workers,
            config.queue_size,
        )
        return pool

    def _new_pool(
        self, record: PluginRecord, config: PoolConfig, circuit: CircuitBreaker
    ) -> WorkerPool:
        """One plugin's pool (the Ray executor's subclass makes a pool of actors here)."""
        return WorkerPool(
            config,
            self.options.worker_spec(record, config),
            self._pump,
            circuit,
            on_circuit_open=self._circuit_opened,
            health_timeout_s=self.options.health_timeout_s,
        )

    def stop_plugin(self, name: str) -> None:
        with self._lock:
            pool = self._pools.pop(name, None)
        if pool is not None:
            pool.close(_STOP_PLUGIN_TIMEOUT_S)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Refuse new calls; running ones get ``timeout_s``; then every worker is stopped."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
        self._monitor_stop.set()
        closers = [
            threading.Thread(target=pool.close, args=(timeout_s,), name=f"visor-stop-{pool.name}")
            for pool in pools
        ]
        for thread in closers:
            thread.start()
        for thread in closers:
            thread.join()
        if self._monitor is not None:
            self._monitor.join(2.0)
        self._pump.close()

    # -- calls ------------------------------------------------------------------------------

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        pool = self._pools.get(record.name)
        if pool is None:
            pool = self._start_on_demand(record)
        return pool.execute(call)

    def _start_on_demand(self, record: PluginRecord) -> WorkerPool:
        """A runnable plugin without workers (stopped, or used before start): boot it now."""
        with self._start_lock(record.name):
            pool = self._pools.get(record.name)
            if pool is not None:
                return pool
            failed = self._start_failures.get(record.name)
            if failed and time.monotonic() - failed[0] < self.options.circuit_cooldown_s:
                raise VisorError(  # do not boot a worker per call for a plugin that cannot start
                    f"plugin {record.name!r} is unavailable: {failed[1]}",
                    code=ErrorCode.PLUGIN_UNAVAILABLE,
                    plugin=record.name,
                )
            try:
                return self._start_locked(record)
            except VisorError as exc:
                raise VisorError(
                    f"plugin {record.name!r} is unavailable: {exc.message}",
                    code=ErrorCode.PLUGIN_UNAVAILABLE,
                    plugin=record.name,
                ) from None

    # -- circuit ----------------------------------------------------------------------------

    def probe(self, record: PluginRecord) -> bool:
        pool = self._pools.get(record.name)
        if pool is None:
            try:
                pool = self._start_on_demand(record)
            except VisorError:
                return False
        return self._probe_pool(pool)

    def _probe_pool(self, pool: WorkerPool) -> bool:
        healthy = pool.probe()
        if healthy:
            self._transition(pool.name, PluginState.INITIALIZED, None, {PluginState.FAILED})
            log.info("plugin %s: probe passed, circuit closed", pool.name)
        elif pool.circuit.is_open:
            reason = pool.circuit.reason or "probe failed"
            self._transition(pool.name, PluginState.FAILED, reason, {PluginState.FAILED})
            log.warning("plugin %s: %s", pool.name, reason)
        return healthy

    def _circuit_opened(self, name: str, reason: str) -> None:
        runnable = {PluginState.INITIALIZED, PluginState.RUNNING, PluginState.FAILED}
        self._transition(name, PluginState.FAILED, reason, runnable)

    def _transition(
        self, name: str, target: PluginState, reason: str | None, only_from: set[PluginState]
    ) -> None:
        if self._registry is None:
            return
        with contextlib.suppress(KeyError, IllegalTransition):  # unloaded or reloaded meanwhile
            self._registry.transition(name, target, reason, only_from=only_from)

    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._monitor is None and not self._closed:
                self._monitor = threading.Thread(
                    target=self._watch, name="visor-circuit-monitor", daemon=True
                )
                self._monitor.start()

    def _watch(self) -> None:
        """Probe every plugin whose circuit cooled down, each in its own short thread."""
        while not self._monitor_stop.wait(_MONITOR_INTERVAL_S):
            with self._lock:
                due = [
                    p
                    for p in self._pools.values()
                    if p.name not in self._probing and p.circuit.probe_due()
                ]
                self._probing.update(p.name for p in due)
            for pool in due:
                threading.Thread(target=self._background_probe, args=(pool,), daemon=True).start()

    def _background_probe(self, pool: WorkerPool) -> None:
        try:
            self._probe_pool(pool)
        except Exception:
            log.exception("probing plugin %s failed", pool.name)
        finally:
            with self._lock:
                self._probing.discard(pool.name)

    # -- introspection ----------------------------------------------------------------------

    def pids(self, name: str) -> list[int]:
        """The worker process ids currently serving ``name`` (for operators and tests)."""
        pool = self._pools.get(name)
        return pool.pids() if pool is not None else []

    def batch_sizes(self) -> dict[str, dict[str, dict[int, int]]]:
        """Per plugin and batching tool: how many batches of each size ran."""
        with self._lock:
            pools = list(self._pools.values())
        return {pool.name: sizes for pool in pools if (sizes := pool.batch_sizes())}

    def pool(self, name: str) -> WorkerPool | None:
        return self._pools.get(name)

    def _start_lock(self, name: str) -> threading.Lock:
        with self._lock:
            lock = self._start_locks.get(name)
            if lock is None:
                lock = self._start_locks[name] = threading.Lock()
            return lock
