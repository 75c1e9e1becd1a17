"""One plugin's warm worker processes, its admission (limit + FCFS queue) and its circuit.

Concurrency equals the number of workers: the plugin's :class:`~..admission.Admission`
lets at most ``workers`` calls run and ``queue_size`` wait in arrival order; the next one is
refused at once with ``ExecutionError/overloaded`` (503 + Retry-After). The pool starts
``min_workers`` warm workers and boots more, up to ``workers``, when calls hold a slot but
find no idle worker — so an idle server keeps one model copy per plugin and a busy one
uses every core. A worker that dies, times out, is cancelled or exceeds its memory limit
costs only the call it was running: it is reaped and a replacement boots in the background
while queued calls wait for it. Worker losses feed the circuit breaker; while it is open,
calls fail fast with ``plugin_unavailable`` until a probe finds the plugin healthy again.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.base import InvalidInput, PluginUnavailable
from app.plugins.runtime.admission import Admission
from app.plugins.runtime.executor import CancelEvent, ToolCall, ToolFailed
from app.plugins.runtime.process.batching import Batcher, BatchItem, BatchWatch
from app.plugins.runtime.process.calls import (
    StartupFailed,
    WorkerFailure,
    WorkerLost,
    decode_reply,
)
from app.plugins.runtime.process.circuit import CircuitBreaker
from app.plugins.runtime.process.config import PoolConfig, WorkerSpec
from app.plugins.runtime.process.handle import WorkerHandle
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure
from app.plugins.runtime.process.output import OutputPump
from app.tracing import spans as tracing

log = logging.getLogger("visor.runtime.process")

_QUEUE_POLL_S = 0.05  # only while closing and probing, never on a call's path
_WORKER_WAIT_S = 1.0  # a safety net: waits for a worker are woken by notify
_KILL_GRACE_S = 2.0
#: Losses that say something about the plugin's health (a cancellation does not).
_COUNTED = frozenset({ErrorCode.TIMEOUT, ErrorCode.WORKER_CRASHED, ErrorCode.MEMORY_LIMIT})

CircuitListener = Callable[[str, str], None]


class WorkerPool:
    #: Whether this pool's workers take batch frames (Ray actors do not, yet).
    batching = True

    def __init__(
        self,
        config: PoolConfig,
        spec: WorkerSpec,
        pump: OutputPump,
        circuit: CircuitBreaker,
        *,
        on_circuit_open: CircuitListener | None = None,
        health_timeout_s: float = 10.0,
    ) -> None:
        self.name = spec.plugin
        self.config = config
        self.circuit = circuit
        self._spec = spec
        self._pump = pump
        self._on_circuit_open = on_circuit_open
        self._health_timeout_s = health_timeout_s
        self._cond = threading.Condition()
        self._idle: list[WorkerHandle] = []
        self._busy: set[WorkerHandle] = set()
        self._booting: set[WorkerHandle] = set()
        self._starting = 0  # replacements being booted in the background
        self._waiting = 0  # calls holding a slot that wait for a worker
        batching = config.batching if self.batching else {}
        # A batching plugin admits a full batch per worker: calls beyond one per worker
        # wait in the batcher's queue (still bounded here), where they can be gathered.
        limit = config.concurrency if batching else config.workers
        self.admission = Admission(self.name, limit, config.queue_size)
        self._batchers = {
            tool: Batcher(
                f"{self.name}.{tool}",
                policy,
                dispatchers=config.workers,
                run=functools.partial(self._run_batch, tool),
                release=self.admission.release,
            )
            for tool, policy in batching.items()
        }
        self._closing = False
        self._stopping = threading.Event()  # in-flight calls are being cancelled
        self._respawners: list[threading.Thread] = []
        self._probe_lock = threading.Lock()
        self.replaced = 0  # workers lost to a crash, timeout, memory kill or failed probe
        self.recycled = 0  # workers stopped because their caller cancelled the call

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self.admission.capacity

    def pids(self) -> list[int]:
        with self._cond:
            handles = [*self._idle, *self._busy, *self._booting]
        return [h.pid for h in handles if h.pid is not None]

    def batch_sizes(self) -> dict[str, dict[int, int]]:
        """How many batches of each size each batching tool ran (for metrics)."""
        return {tool: batcher.stats() for tool, batcher in self._batchers.items()}

    def stats(self) -> dict[str, Any]:
        """A snapshot for operators and tests: sizes, admissions, replacements, circuit."""
        admission = self.admission.stats()
        with self._cond:
            return {
                "workers": self.config.workers,
                "idle": len(self._idle),
                "busy": len(self._busy),
                "starting": self._starting,
                "admitted": admission["running"] + admission["queued"],
                "queued": admission["queued"],
                "refused": admission["refused"],
                "queue_size": self.config.queue_size,
                "replaced": self.replaced,
                "recycled": self.recycled,
                "circuit_open": self.circuit.is_open,
            }

    def start(self) -> None:
        """Boot the warm workers (startup hooks run in parallel); raise if any fails."""
        handles = self._boot(self.config.min_workers)
        with self._cond:
            self._idle.extend(handles)
            self._cond.notify_all()

    def _new_handle(self) -> WorkerHandle:
        """One worker, not yet started (the Ray executor's pool makes actors here)."""
        return WorkerHandle(self._spec, self._pump)

    def _boot(self, count: int) -> list[WorkerHandle]:
        handles = [self._new_handle() for _ in range(count)]
        with self._cond:
            self._booting.update(handles)
        try:
            for handle in handles:
                handle.start()
            deadline = time.monotonic() + self.config.startup_timeout_s
            for handle in handles:
                handle.wait_ready(max(0.1, deadline - time.monotonic()))
        except BaseException as exc:
            for handle in handles:
                handle.kill()
            if isinstance(exc, StartupFailed):
                raise
            raise StartupFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            with self._cond:
                self._booting.difference_update(handles)
        if self._stopping.is_set():  # closed while we booted
            for handle in handles:
                handle.kill()
            raise StartupFailed("the plugin is stopping")
        return handles

    def close(self, timeout_s: float) -> None:
        """Refuse new calls; running and queued ones get until ``timeout_s`` to finish; then
        queued ones leave and running ones are cancelled (their workers killed), both with
        ``cancelled`` ("the server is shutting down"), and every worker is stopped."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        self.admission.close(
            VisorError(
                f"plugin {self.name!r} is stopping",
                code=ErrorCode.PLUGIN_UNAVAILABLE,
                plugin=self.name,
            )
        )
        with self._cond:
            while self._in_flight() and time.monotonic() < deadline:
                self._cond.wait(min(_QUEUE_POLL_S, max(0.0, deadline - time.monotonic())))
            self._closing = True
            self._cond.notify_all()
        for batcher in self._batchers.values():
            batcher.close(
                VisorError(
                    "call cancelled: the server is shutting down",
                    code=ErrorCode.CANCELLED,
                    plugin=self.name,
                )
            )
        self.admission.reject_waiting(
            VisorError(
                "call cancelled: the server is shutting down",
                code=ErrorCode.CANCELLED,
                plugin=self.name,
            )
        )
        self._stopping.set()  # whatever still runs is cancelled: its worker is killed
        with self._cond:
            booting = list(self._booting)
        for handle in booting:
            handle.signal_kill()
        with self._cond:
            kill_deadline = time.monotonic() + _KILL_GRACE_S
            while self._busy and time.monotonic() < kill_deadline:
                self._cond.wait(_QUEUE_POLL_S)
            idle, self._idle = self._idle, []
            leftovers = list(self._busy)
        for handle in idle:
            handle.request_stop()
        grace = max(0.2, deadline - time.monotonic())
        for handle in idle:
            handle.stop(grace)
        for handle in leftovers:  # a caller thread that never came back: reap for it
            handle.signal_kill()
        for thread in list(self._respawners):
            thread.join(_KILL_GRACE_S)

    def _in_flight(self) -> bool:
        stats = self.admission.stats()
        return bool(self._busy or stats["running"] or stats["queued"])

    # -- calls ------------------------------------------------------------------------------

    def execute(self, call: ToolCall) -> Any:
        batcher = self._batchers.get(call.tool.name)
        if batcher is not None and call.context.progress is None:
            self._refuse_if_unavailable()
            self.admission.acquire(call.context.cancel_event, call.timeout_s)
            return batcher.submit(call)  # the batcher gives the slot back
        try:
            request = protocol.encode_call(
                call.tool.name,
                call.payload,
                call.timeout_s,
                progress=call.context.progress is not None,
                trace=tracing.traceparent(),
                attachments=call.context.attachments,
            )
        except Exception as exc:
            raise VisorError(
                f"the payload cannot be sent to a worker process: {exc}",
                code=ErrorCode.INVALID_INPUT,
                plugin=self.name,
            ) from exc
        self._refuse_if_unavailable()
        cancel = call.context.cancel_event
        self.admission.acquire(cancel, call.timeout_s)
        try:
            worker = self._acquire(cancel)
            started = time.monotonic()
            try:
                result = worker.call(
                    request,
                    where=f"{self.name}.{call.tool.name}",
                    timeout_s=call.timeout_s,
                    cancel=cancel,
                    progress=call.context.progress,
                    memory_limit_mb=self.config.memory_limit_mb,
                    stopping=self._stopping,
                )
            except WorkerLost as lost:
                opened = self._retire(
                    worker,
                    lost.message if lost.code in _COUNTED else None,
                    cancelled=lost.code is ErrorCode.CANCELLED,
                )
                raise self._lost_error(lost, opened) from None
            except WorkerFailure as failed:
                failure = failed.failure
                if failure.recycle:
                    counted = failure.message if failure.code in _COUNTED else None
                    self._retire(worker, counted, cancelled=failure.code == ErrorCode.CANCELLED)
                else:
                    self._release(worker, time.monotonic() - started)
                raise _failure_error(failure, self.name) from None
            except BaseException:
                self._retire(worker, None)
                raise
            self._release(worker, time.monotonic() - started)
            return result
        finally:
            self.admission.release()

    def _run_batch(self, tool: str, items: list[BatchItem]) -> None:
        """Run one gathered batch in a worker and settle each of its calls (a dispatcher
        thread of the tool's :class:`~.batching.Batcher` calls this)."""
        live = [item for item in items if not item.done]
        if not live:
            return
        where = f"{self.name}.{tool}"
        try:
            request = protocol.encode_batch(tool, [i.frame_item() for i in live])
        except Exception as exc:  # a payload cannot be pickled: send each alone, to fail alone
            if len(live) == 1:
                live[0].finish(
                    error=VisorError(
                        f"the payload cannot be sent to a worker process: {exc}",
                        code=ErrorCode.INVALID_INPUT,
                        plugin=self.name,
                    )
                )
            else:
                for item in live:
                    self._run_batch(tool, [item])
            return
        nobody = CancelEvent()  # a batch is not cancelled as a whole: its callers are
        worker = self._acquire(nobody)
        started = time.monotonic()
        watch = BatchWatch(where, live, self._stopping, kill=worker.signal_kill)
        try:
            replies = worker.call_batch(
                request,
                watch=watch,
                memory_limit_mb=self.config.memory_limit_mb,
                stopping=self._stopping,
            )
        except WorkerLost as lost:
            opened = self._retire(worker, lost.message if lost.code in _COUNTED else None)
            error = self._lost_error(lost, opened)
            for item in live:
                item.finish(error=error)
            return
        except BaseException:
            self._retire(worker, None)
            raise
        retire: str | None = None
        recycled = False
        if len(replies) != len(live):
            replies = replies[:1] * len(live)  # the worker could not read the batch
        for item, (tag, body) in zip(live, replies, strict=True):
            try:
                item.finish(decode_reply(where, tag, body))
            except WorkerFailure as failed:
                failure = failed.failure
                if failure.recycle:
                    recycled = True
                    retire = retire or (failure.message if failure.code in _COUNTED else None)
                item.finish(error=_failure_error(failure, self.name))
        if recycled:
            self._retire(worker, retire)
        else:
            self._release(worker, (time.monotonic() - started) / len(live))

    def _refuse_if_unavailable(self) -> None:
        if self._closing:
            raise VisorError(
                f"plugin {self.name!r} is stopping",
                code=ErrorCode.PLUGIN_UNAVAILABLE,
                plugin=self.name,
            )
        if self.circuit.is_open:
            raise self._circuit_error()

    def _circuit_error(self) -> VisorError:
        return VisorError(
            f"plugin {self.name!r} is unavailable: {self.circuit.reason}",
            code=ErrorCode.PLUGIN_UNAVAILABLE,
            details={"retry_after_s": math.ceil(self.circuit.retry_after_s())},
            plugin=self.name,
        )

    def _acquire(self, cancel: threading.Event) -> WorkerHandle:
        """An idle worker for a call that holds a slot; boots one if the pool may grow."""
        with self._cond:  # the usual case: one is idle, no need to listen for a cancel
            self._refuse_if_unavailable()
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker
        unsubscribe = getattr(cancel, "subscribe", None)
        remove = unsubscribe(self._wake_all) if unsubscribe is not None else None
        try:
            with self._cond:
                self._waiting += 1
                try:
                    while True:
                        self._refuse_if_unavailable()
                        if self._idle:
                            worker = self._idle.pop()
                            self._busy.add(worker)
                            return worker
                        if cancel.is_set():
                            raise VisorError(
                                "call cancelled while queued",
                                code=ErrorCode.CANCELLED,
                                plugin=self.name,
                            )
                        self._replenish_locked()
                        self._cond.wait(_WORKER_WAIT_S if remove else _QUEUE_POLL_S)
                finally:
                    self._waiting -= 1
        finally:
            if remove is not None:
                remove()

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _release(self, worker: WorkerHandle, elapsed_s: float | None) -> None:
        if elapsed_s is not None:
            self.admission.record_duration(elapsed_s)
        with self._cond:
            self._busy.discard(worker)
            if not self._stopping.is_set():
                self._idle.append(worker)
                self._cond.notify()
                return
            self._cond.notify_all()
        worker.stop(_KILL_GRACE_S)  # finished after close() gave up waiting: stop it here

    def _retire(
        self, worker: WorkerHandle, failure: str | None, *, cancelled: bool = False
    ) -> bool:
        """Reap a worker that is gone; count ``failure`` against the circuit. True if it opened.

        A worker stopped for a cancelled call is ``recycled``, not ``replaced``: the caller
        chose it, and the overview must not show it as a sign of an unhealthy plugin."""
        worker.kill()
        opened = failure is not None and self.circuit.record_failure(failure)
        with self._cond:
            self._busy.discard(worker)
            if cancelled:
                self.recycled += 1
            else:
                self.replaced += 1
            self._replenish_locked()
            self._cond.notify_all()
        if opened:
            self._circuit_opened()
        return opened

    def _circuit_opened(self) -> None:
        reason = self.circuit.reason or "circuit open"
        log.warning("plugin %s: %s", self.name, reason)
        self.admission.reject_waiting(self._circuit_error())  # queued calls fail fast now
        with self._cond:
            self._cond.notify_all()
        if self._on_circuit_open is not None:
            self._on_circuit_open(self.name, reason)

    def _lost_error(self, lost: WorkerLost, opened: bool) -> VisorError:
        message = lost.message
        if opened:
            message += f"; {self.circuit.reason}"
        return VisorError(message, code=lost.code, details=lost.details, plugin=self.name)

    # -- replacement ------------------------------------------------------------------------

    def _replenish_locked(self) -> None:
        """Boot workers in the background: back to ``min_workers`` after a loss, and up to
        ``workers`` while calls that hold a slot wait for one."""
        if self._closing or self.circuit.is_open:
            return
        present = len(self._idle) + len(self._busy) + self._starting
        wanted = min(
            self.config.workers, max(self.config.min_workers, len(self._busy) + self._waiting)
        )
        for _ in range(wanted - present):
            self._starting += 1
            thread = threading.Thread(
                target=self._respawn, name=f"visor-respawn-{self.name}", daemon=True
            )
            self._respawners = [t for t in self._respawners if t.is_alive()]
            self._respawners.append(thread)
            thread.start()

    def _respawn(self) -> None:
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                try:
                    (handle,) = self._boot(1)
                except StartupFailed as exc:
                    if self._stopping.is_set():
                        return
                    log.warning("plugin %s: replacement worker failed: %s", self.name, exc)
                    if self.circuit.record_failure(f"replacement worker failed: {exc}"):
                        self._circuit_opened()
                    if self.circuit.is_open:
                        return
                    self._stopping.wait(backoff)
                    backoff = min(5.0, backoff * 2)
                    continue
                with self._cond:
                    if not self._closing:
                        self._idle.append(handle)
                        self._cond.notify_all()
                        return
                handle.stop(_KILL_GRACE_S)
                return
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()

    # -- circuit probe ----------------------------------------------------------------------

    def probe(self) -> bool:
        """Half-open probe: workers at strength and one passes the plugin's health check."""
        if not self._probe_lock.acquire(blocking=False):
            return False  # another probe is under way
        try:
            return self._probe_locked()
        finally:
            self._probe_lock.release()

    def _probe_locked(self) -> bool:
        was_open = self.circuit.is_open
        with self._cond:
            if self._closing:
                return False
            present = len(self._idle) + len(self._busy) + self._starting
            missing = self.config.min_workers - present
        if missing > 0:
            try:
                handles = self._boot(missing)
            except StartupFailed as exc:
                if was_open:
                    self.circuit.reopen(exc.message)
                return False
            with self._cond:
                self._idle.extend(handles)
                self._cond.notify_all()
        worker = self._take_idle(self._health_timeout_s)
        if worker is None:
            if was_open:
                self.circuit.reopen("no worker became free for the health check")
            return False
        healthy = worker.health(self._health_timeout_s)
        if healthy:
            self._release(worker, None)
            self.circuit.close()
            return True
        self._retire(worker, None)
        if was_open:
            self.circuit.reopen("the plugin's health check failed")
        return False

    def _take_idle(self, timeout_s: float) -> WorkerHandle | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._idle:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing:
                    return None
                self._cond.wait(min(remaining, _QUEUE_POLL_S))
            worker = self._idle.pop()
            self._busy.add(worker)
            return worker


def _failure_error(failure: Failure, plugin: str) -> VisorError:
    """The exception ToolRunner expects for what the worker reported."""
    if failure.code == ErrorCode.TOOL_ERROR.value:
        return ToolFailed(failure.message, remote_traceback=failure.traceback, plugin=plugin)
    if failure.code == ErrorCode.INVALID_INPUT.value:
        return InvalidInput(failure.message, details=failure.details, plugin=plugin)
    if failure.code == ErrorCode.PLUGIN_UNAVAILABLE.value:
        return PluginUnavailable(failure.message, details=failure.details, plugin=plugin)
    try:
        code = ErrorCode(failure.code)
    except ValueError:
        code = ErrorCode.INTERNAL
    return VisorError(failure.message, code=code, details=failure.details, plugin=plugin)
