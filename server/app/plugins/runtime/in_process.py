"""In-process execution: for trusted, latency-critical tools and for debugging.

Only the operator chooses it (``plugin_isolation`` / ``force_in_process``); a plugin cannot
opt itself out of isolation. In-process calls are governed like isolated ones: the plugin's
:class:`~app.plugins.runtime.admission.Admission` bounds how many run at once and how many
wait, and refuses the rest with ``overloaded``.

Sync tools run on the plugin's own daemon threads (:class:`DaemonThreads`), async tools on
one private event loop. The caller waits for the result, its cancel flag or the time
limit, whichever comes first. A thread cannot be killed: a sync tool that overruns gets
``ctx.cancelled`` and its caller gets ``ExecutionError/timeout`` at the limit, but the tool
keeps its admission slot until it really returns, so a stuck tool uses up its own plugin's
capacity and nobody else's. Use process isolation (the default) for tools you do not trust.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins import frames
from app.plugins.base import Plugin, ToolContext, normalise_output
from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.admission import Admission
from app.plugins.runtime.deadline import call_with_deadline
from app.plugins.runtime.executor import ToolCall
from app.plugins.runtime.process.config import ProcessOptions
from app.plugins.runtime.threads import DaemonThreads
from app.tracing import spans as tracing

_SHUTDOWN_HOOK_S = 5.0


class _Signal:
    """A one-way flag its waiter sleeps on: one raw lock, the cheapest wake-up Python has
    (a ``threading.Event`` is a Condition over two locks; this hand-off is most of an
    in-process call's governance cost). ``set`` may come from any thread, any number of
    times; once set, it stays set."""

    __slots__ = ("_flag", "_lock")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._flag = False

    def set(self) -> None:
        self._flag = True
        with contextlib.suppress(RuntimeError):  # already released: set before
            self._lock.release()

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        if self._lock.acquire(True, -1 if timeout is None else max(0.0, timeout)):
            with contextlib.suppress(RuntimeError):
                self._lock.release()  # stays set for any later look
            return True
        return self._flag


class _Pending:
    """One call's outcome, and the signal its caller waits on."""

    __slots__ = ("cancel_hook", "error", "event", "finished", "value")

    def __init__(self) -> None:
        self.event = _Signal()
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.cancel_hook: Callable[[], None] | None = None  # stops an async tool

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error, self.finished = value, error, True
        self.event.set()


class _Lane:
    """One plugin's instance, admission and threads."""

    def __init__(self, instance: Plugin, admission: Admission) -> None:
        self.instance = instance
        self.admission = admission
        self.threads = DaemonThreads(admission.name)


class InProcessExecutor:
    def __init__(
        self, options: ProcessOptions | None = None, *, startup_timeout_s: float = 60.0
    ) -> None:
        self._options = options or ProcessOptions()
        self._startup_timeout_s = startup_timeout_s
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._pending: set[_Pending] = set()
        self._idle = threading.Condition(self._lock)
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------

    def start_plugin(self, record: PluginRecord) -> None:
        self._lane_for(record)

    def _lane_for(self, record: PluginRecord) -> _Lane:
        lane = self._lanes.get(record.name)
        if lane is not None:
            return lane
        with self._lock:
            lane = self._lanes.get(record.name)
            if lane is None:
                if self._stopping:  # shut down: no plugin starts again
                    raise VisorError(
                        "the executor is shut down",
                        code=ErrorCode.PLUGIN_UNAVAILABLE,
                        plugin=record.name,
                    )
                config = self._options.pool_config(record)
                admission = Admission(record.name, config.workers, config.queue_size)
                lane = _Lane(self._started_instance(record), admission)
                self._lanes[record.name] = lane
        return lane

    def _started_instance(self, record: PluginRecord) -> Plugin:
        instance = record.instance
        if instance is None:
            if record.plugin_cls is None:
                raise VisorError(
                    f"plugin {record.name!r} has no implementation",
                    code=ErrorCode.PLUGIN_UNAVAILABLE,
                )
            instance = record.plugin_cls()
        try:
            call_with_deadline(
                instance.startup, self._startup_timeout_s, name=f"visor-start-{record.name}"
            )
        except TimeoutError as exc:
            raise VisorError(
                f"startup hook took longer than {self._startup_timeout_s}s",
                code=ErrorCode.PLUGIN_UNAVAILABLE,
                plugin=record.name,
            ) from exc
        except VisorError:  # e.g. PluginUnavailable: the plugin's own verdict
            raise
        except Exception as exc:  # the plugin cannot serve until startup succeeds
            raise VisorError(
                f"plugin {record.name!r} failed to start: {type(exc).__name__}: {exc}",
                code=ErrorCode.PLUGIN_UNAVAILABLE,
                plugin=record.name,
            ) from exc
        return instance

    def stop_plugin(self, name: str) -> None:
        with self._lock:
            lane = self._lanes.pop(name, None)
        if lane is None:
            return
        lane.admission.close(
            VisorError(f"plugin {name!r} is stopping", code=ErrorCode.PLUGIN_UNAVAILABLE)
        )
        lane.threads.close()
        with contextlib.suppress(Exception):  # a plugin's shutdown hook must not stop ours
            call_with_deadline(lane.instance.shutdown, _SHUTDOWN_HOOK_S, name=f"visor-stop-{name}")

    def probe(self, record: PluginRecord) -> bool:
        return bool(self._lane_for(record).instance.health_check())

    def admission(self, name: str) -> Admission | None:
        lane = self._lanes.get(name)
        return lane.admission if lane is not None else None

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Refuse new calls; running and queued ones get ``timeout_s``; then their callers
        are told the server is shutting down (a stuck thread is abandoned: a daemon)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.admission.close(
                VisorError(
                    f"plugin {lane.admission.name!r} is stopping",
                    code=ErrorCode.PLUGIN_UNAVAILABLE,
                )
            )
        with self._idle:
            while self._busy(lanes) and time.monotonic() < deadline:
                self._idle.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            self._stopping = True
            stranded = list(self._pending)
        for lane in lanes:
            lane.admission.reject_waiting(
                VisorError("call cancelled: the server is shutting down", code=ErrorCode.CANCELLED)
            )
        for pending in stranded:
            pending.event.set()  # the caller sees _stopping and answers "cancelled"
        for name in list(self._lanes):
            self.stop_plugin(name)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=max(0.1, deadline - time.monotonic()))

    def _busy(self, lanes: list[_Lane]) -> bool:
        if self._pending:
            return True
        return any(lane.admission.stats()["queued"] for lane in lanes)

    # -- execution --------------------------------------------------------------------------

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        lane = self._lane_for(record)
        cancel = call.context.cancel_event
        lane.admission.acquire(cancel, call.timeout_s)
        started = time.monotonic()
        deadline = None if call.timeout_s is None else started + call.timeout_s
        ctx = ToolContext(
            plugin=call.plugin,
            tool=call.tool.name,
            progress_sink=call.context.progress,
            is_cancelled=lambda: cancel.is_set(),
            deadline=deadline,
        )
        pending = _Pending()
        with self._lock:
            self._pending.add(pending)

        def ended() -> None:  # the tool really returned: only now is its slot free
            lane.admission.record_duration(time.monotonic() - started)
            lane.admission.release()
            with self._idle:
                self._pending.discard(pending)
                self._idle.notify_all()

        try:
            if call.tool.is_async:
                self._submit_async(call, lane.instance, ctx, pending, ended)
            else:
                job = lambda: _run_sync(call, lane.instance, ctx, pending, ended)  # noqa: E731
                lane.threads.submit(job if not tracing.enabled() else _traced(job, call))
        except RuntimeError as exc:  # the plugin was stopped between admission and here
            ended()
            raise VisorError(
                f"plugin {call.plugin!r} is stopping", code=ErrorCode.PLUGIN_UNAVAILABLE
            ) from exc
        except BaseException:
            ended()
            raise
        return self._wait(pending, call, deadline, cancel)

    def _submit_async(
        self, call: ToolCall, instance: Plugin, ctx: ToolContext, pending: _Pending, ended: Any
    ) -> None:
        async def run() -> None:
            try:
                with frames.attached(call.context.attachments):
                    value = normalise_output(await call.tool.bind(instance, call.payload, ctx))
            except BaseException as exc:
                pending.finish(error=exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                pending.finish(value)
            finally:
                ended()

        task_box: dict[str, asyncio.Task[None]] = {}
        loop = self._event_loop()

        def start() -> None:
            task_box["task"] = loop.create_task(run())

        def cancel_task() -> None:  # runs on the loop, after start()
            task = task_box.get("task")
            if task is not None:
                task.cancel()

        pending.cancel_hook = cancel_task
        loop.call_soon_threadsafe(start)

    def _wait(
        self,
        pending: _Pending,
        call: ToolCall,
        deadline: float | None,
        cancel: threading.Event,
    ) -> Any:
        subscribe = getattr(cancel, "subscribe", None)
        remove = subscribe(pending.event.set) if subscribe is not None else None
        try:
            while not pending.event.is_set():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                if remove is None:  # a plain Event as cancel flag: look at it now and then
                    remaining = 0.25 if remaining is None else min(remaining, 0.25)
                if pending.event.wait(remaining) or cancel.is_set():
                    break
        finally:
            if remove is not None:
                remove()
        if pending.finished:
            error = pending.error
            if error is not None:
                if isinstance(error, Exception):
                    raise error
                raise VisorError(  # SystemExit & co. must not unwind the server's thread
                    f"tool {call.plugin}.{call.tool.name} raised {type(error).__name__}",
                    code=ErrorCode.TOOL_ERROR,
                )
            self._check_finished(call, cancel, deadline)
            return pending.value
        self._abandon(pending, call)
        if cancel.is_set():
            raise VisorError("call was cancelled", code=ErrorCode.CANCELLED)
        if self._stopping:
            raise VisorError(
                "call cancelled: the server is shutting down", code=ErrorCode.CANCELLED
            )
        raise _timeout(call)

    def _abandon(self, pending: _Pending, call: ToolCall) -> None:
        """The caller stops waiting; an async tool is cancelled, a sync one runs on (holding
        its slot, but no longer a call that shutdown waits for: nobody awaits it)."""
        with self._idle:
            self._pending.discard(pending)
            self._idle.notify_all()
        if pending.cancel_hook is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(pending.cancel_hook)

    def _check_finished(
        self, call: ToolCall, cancel: threading.Event, deadline: float | None
    ) -> None:
        if cancel.is_set():
            raise VisorError("call was cancelled", code=ErrorCode.CANCELLED)
        if deadline is not None and time.monotonic() > deadline:
            raise _timeout(call)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=loop.run_forever, name="visor-async-tools", daemon=True
                    )
                    thread.start()
                    self._loop, self._loop_thread = loop, thread
        return self._loop


def _run_sync(
    call: ToolCall, instance: Plugin, ctx: ToolContext, pending: _Pending, ended: Any
) -> None:
    try:
        with frames.attached(call.context.attachments):
            value = normalise_output(call.tool.bind(instance, call.payload, ctx))
    except BaseException as exc:  # handed to the caller, who may re-raise it
        pending.finish(error=exc)
    else:
        pending.finish(value)
    finally:
        ended()


def _traced(job: Callable[[], None], call: ToolCall) -> Callable[[], None]:
    """``job`` on a plugin thread, in the caller's trace: a ``visor.tool_run`` span (the
    one a worker process records) under the caller's current span."""
    context = contextvars.copy_context()
    attributes = {"visor.plugin": call.plugin, "visor.tool": call.tool.name}

    def in_span() -> None:
        with tracing.span("visor.tool_run", attributes):
            job()

    return lambda: context.run(in_span)


def _timeout(call: ToolCall) -> VisorError:
    return VisorError(
        f"tool {call.plugin}.{call.tool.name} exceeded its {call.timeout_s:g}s limit",
        code=ErrorCode.TIMEOUT,
        details={"timeout_s": call.timeout_s},
    )
