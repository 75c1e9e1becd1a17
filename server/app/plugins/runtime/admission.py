"""Per-plugin admission: a concurrency limit and a bounded, first-come-first-served queue.

Every executor (worker processes, in-process, Ray) asks the plugin's :class:`Admission`
for a slot before a call runs and gives it back when the call has *really* ended — for an
in-process call that overran its limit, that is when its thread returns, not when its caller
stopped waiting. At most ``limit`` calls hold a slot; up to ``queue_size`` more wait in
arrival order; the next one is refused at once with ``ExecutionError/overloaded`` and a
``retry_after_s`` estimate (HTTP 503 + ``Retry-After``). A refusal allocates nothing.

A released slot is handed straight to the oldest waiter (its own event is set; nobody
polls, nobody overtakes it). A waiter whose caller cancels — through a
:class:`~app.plugins.runtime.executor.CancelEvent` — leaves the queue at once; so do all
waiters when the plugin stops or its circuit opens (:meth:`Admission.reject_waiting`).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from app.errors import ErrorCode, VisorError
from app.tracing import spans as tracing

_FALLBACK_CANCEL_CHECK_S = 0.25  # only for a plain threading.Event as the cancel flag


class _Waiter:
    __slots__ = ("error", "event", "granted")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.granted = False
        self.error: VisorError | None = None


class Admission:
    def __init__(self, name: str, limit: int, queue_size: int) -> None:
        self.name = name
        self.limit = max(1, int(limit))
        self.queue_size = max(0, int(queue_size))
        self._lock = threading.Lock()
        self._running = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._closed: VisorError | None = None
        self._avg_call_s = 0.0
        self.refused = 0

    @property
    def capacity(self) -> int:
        return self.limit + self.queue_size

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "limit": self.limit,
                "queue_size": self.queue_size,
                "running": self._running,
                "queued": len(self._waiters),
                "refused": self.refused,
            }

    # -- slots ------------------------------------------------------------------------------

    def acquire(
        self, cancel: threading.Event | None = None, timeout_s: float | None = None
    ) -> None:
        """Take a slot, waiting in line if all are held; raise ``overloaded`` past the queue.

        Also raises ``cancelled`` if ``cancel`` is set while waiting, ``overloaded`` if no
        slot came within ``timeout_s`` (the call's own time limit: a call stuck behind stuck
        calls is not kept forever), and the close reason (e.g. ``plugin_unavailable``) if
        the plugin stops meanwhile.
        """
        with self._lock:
            if self._closed is not None:
                raise self._closed
            if self._running < self.limit and not self._waiters:
                self._running += 1
                return
            if len(self._waiters) >= self.queue_size:
                self.refused += 1
                raise self._overloaded_locked()
            waiter = _Waiter()
            self._waiters.append(waiter)
            queued = len(self._waiters)
        # Only a call that has to queue gets a span: the free-slot path above stays as is.
        with tracing.span("visor.admission_wait", {"visor.plugin": self.name}) as span:
            if span is not None:
                span.set_attribute("visor.queue.position", queued)
            self._wait(waiter, cancel, timeout_s)

    def release(self) -> None:
        """Give the slot back: to the oldest waiter if there is one."""
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
                waiter.event.set()
                return
            self._running = max(0, self._running - 1)

    def record_duration(self, seconds: float) -> None:
        """Feed the Retry-After estimate with one call's duration."""
        self._avg_call_s += 0.2 * (seconds - self._avg_call_s)

    # -- leaving the queue ------------------------------------------------------------------

    def reject_waiting(self, error: VisorError) -> None:
        """Every queued call leaves now with ``error`` (the plugin's circuit opened)."""
        with self._lock:
            waiters, self._waiters = list(self._waiters), collections.deque()
        for waiter in waiters:
            waiter.error = error
            waiter.event.set()

    def close(self, error: VisorError) -> None:
        """Refuse every new call with ``error`` and send the queued ones away with it."""
        with self._lock:
            self._closed = error
        self.reject_waiting(error)

    def _wait(
        self, waiter: _Waiter, cancel: threading.Event | None, timeout_s: float | None
    ) -> None:
        unsubscribe = _on_cancel(cancel, lambda: self._withdraw(waiter, _cancelled(self.name)))
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            if cancel is not None and cancel.is_set():
                self._withdraw(waiter, _cancelled(self.name))
            while not waiter.event.is_set():
                wait_s = None if deadline is None else deadline - time.monotonic()
                if wait_s is not None and wait_s <= 0:
                    self._withdraw(waiter, self._queue_timeout(timeout_s))
                    break
                if unsubscribe is None and cancel is not None:  # a plain Event: look now and then
                    wait_s = min(wait_s or _FALLBACK_CANCEL_CHECK_S, _FALLBACK_CANCEL_CHECK_S)
                waiter.event.wait(wait_s)
                if cancel is not None and cancel.is_set():
                    self._withdraw(waiter, _cancelled(self.name))
        finally:
            if unsubscribe is not None:
                unsubscribe()
        if waiter.granted:
            return
        raise waiter.error or _cancelled(self.name)

    def _withdraw(self, waiter: _Waiter, error: VisorError) -> None:
        with self._lock:
            if waiter.granted or waiter.event.is_set():
                return
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return
        waiter.error = error
        waiter.event.set()

    def _queue_timeout(self, timeout_s: float | None) -> VisorError:
        """A call that waited its whole time limit for a slot: the plugin is saturated
        (``overloaded``, quiet, retryable — jobs retry it), not broken (not ``timeout``,
        which would mark the plugin FAILED)."""
        with self._lock:
            retry = self._retry_after_locked()
        return VisorError(
            f"plugin {self.name!r} had no free slot within the call's {timeout_s:g}s limit "
            f"({self.limit} running); retry in {retry}s",
            code=ErrorCode.OVERLOADED,
            details={"retry_after_s": retry, "waited_s": timeout_s, "queued": True},
            plugin=self.name,
        )

    # -- refusal ----------------------------------------------------------------------------

    def retry_after_s(self) -> int:
        with self._lock:
            return self._retry_after_locked()

    def _retry_after_locked(self) -> int:
        waves = (self._running + len(self._waiters)) / self.limit
        return max(1, min(60, math.ceil(self._avg_call_s * waves)))

    def _overloaded_locked(self) -> VisorError:
        retry = self._retry_after_locked()
        return VisorError(
            f"plugin {self.name!r} is saturated ({self.limit} running, "
            f"{self.queue_size} queued); retry in {retry}s",
            code=ErrorCode.OVERLOADED,
            details={
                "retry_after_s": retry,
                "workers": self.limit,
                "queue_size": self.queue_size,
            },
            plugin=self.name,
        )


def _cancelled(plugin: str) -> VisorError:
    return VisorError("call cancelled while queued", code=ErrorCode.CANCELLED, plugin=plugin)


def _on_cancel(
    cancel: threading.Event | None, callback: Callable[[], None]
) -> Callable[[], None] | None:
    subscribe = getattr(cancel, "subscribe", None)
    return subscribe(callback) if subscribe is not None else None
