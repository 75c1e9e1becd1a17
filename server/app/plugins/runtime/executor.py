"""The executor seam: how ToolRunner hands one validated call to something that runs it.

ToolRunner owns the contract (resolve, validate, envelope, metrics); an :class:`Executor`
only runs the handler somewhere — in this process, in a supervised worker process, or on
Ray — and reports failures it detects itself (timeout, crash, overload) as
:class:`~app.errors.VisorError`. Exceptions the *tool* raised propagate unchanged
(in-process) or as :class:`ToolFailed` (from another process) so ToolRunner alone turns
them into envelopes.

Per-call facilities (progress sink, cancellation) travel in a context variable rather than
in ``ToolRunner.run``'s signature, so the public contract stays
``run(plugin_name, payload, tool=None)`` and every door can be monkeypatched the same way.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from app.errors import ErrorCode, VisorError
from app.plugins.base import ToolSpec
from app.plugins.frames import Attachments
from app.plugins.loader.plugin_registry import PluginRecord

ProgressCallback = Callable[[float, str | None], None]


class CancelEvent(threading.Event):
    """A cancel flag that also calls back whoever waits on it (a queued call, a waiting
    in-process caller), so nobody has to poll it. Setting it any way — ``ctx.cancel()`` or
    ``ctx.cancel_event.set()`` — runs the callbacks once."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the flag is set; returns the unsubscribe function."""
        with self._callbacks_lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._callbacks_lock, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    def set(self) -> None:
        super().set()
        with self._callbacks_lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


_CREATE_LOCK = threading.Lock()


class CallContext:
    """What the caller of ToolRunner offers the tool: progress sink, cancel flag, ids.

    Cheap to build (no uuid, no Event until someone asks): it sits on the hot path.
    """

    __slots__ = (
        "_call_id",
        "_cancel_event",
        "attachments",
        "max_result_bytes",
        "progress",
        "timeout_s",
    )

    def __init__(
        self,
        *,
        call_id: str | None = None,
        progress: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
        timeout_s: float | None = None,
        max_result_bytes: int | None = None,
        attachments: Attachments | None = None,
    ) -> None:
        self._call_id = call_id
        self.progress = progress
        self._cancel_event = cancel_event
        self.timeout_s = timeout_s  # caller's own deadline, tighter than the tool's
        self.max_result_bytes = max_result_bytes  # a door's own, smaller result limit
        self.attachments = attachments  # decoded frames for the payload's image references

    @property
    def call_id(self) -> str:
        if self._call_id is None:
            self._call_id = uuid.uuid4().hex
        return self._call_id

    @property
    def cancel_event(self) -> threading.Event:
        if self._cancel_event is None:
            with _CREATE_LOCK:  # the caller's thread and a canceller may race to create it
                if self._cancel_event is None:
                    self._cancel_event = CancelEvent()
        return self._cancel_event

    @property
    def cancelled(self) -> bool:
        return self._cancel_event is not None and self._cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()


_current: ContextVar[CallContext | None] = ContextVar("visor_call_context", default=None)


def current_call_context() -> CallContext | None:
    return _current.get()


@contextlib.contextmanager
def call_context(ctx: CallContext | None = None, **kwargs: Any) -> Iterator[CallContext]:
    """Run the block with ``ctx`` as the current call context (progress, cancel)."""
    ctx = ctx or CallContext(**kwargs)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@dataclass
class ToolCall:
    """One validated call, ready for an executor."""

    plugin: str
    tool: ToolSpec
    payload: dict[str, Any]
    timeout_s: float | None
    context: CallContext


class ToolFailed(VisorError):
    """The tool raised in another process; carries that process's traceback text."""

    code = ErrorCode.TOOL_ERROR

    def __init__(self, message: str, *, remote_traceback: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.remote_traceback = remote_traceback


@runtime_checkable
class Executor(Protocol):
    """Runs tool handlers. Implementations: in-process, worker processes, Ray."""

    def start_plugin(self, record: PluginRecord) -> None:
        """Make the plugin ready (construct, run its startup hook); raise on failure."""

    def stop_plugin(self, name: str) -> None:
        """Release the plugin's resources (workers, instance); idempotent."""

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        """Run one call; return the handler's raw result."""

    def probe(self, record: PluginRecord) -> bool:
        """True if the plugin can serve again (used to close an open circuit)."""

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop everything; in-flight calls get at most ``timeout_s`` to finish."""
