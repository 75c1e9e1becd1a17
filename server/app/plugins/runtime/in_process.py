"""In-process execution: for trusted, latency-critical tools and for debugging.

Sync tools run inline in the calling thread (callers are already worker threads: the
API's thread pool, the job dispatcher), so a call costs no thread hand-off. Async tools run
on one private event loop, where a time limit or a cancel stops them promptly. A thread
cannot be killed: for sync tools the limit is cooperative (``ctx.cancelled`` turns true at
the deadline) and an overrun is reported as ``ExecutionError/timeout`` when the tool
returns. Use process isolation (the default) for tools you do not trust.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.base import Plugin, ToolContext, normalise_output
from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.deadline import call_with_deadline
from app.plugins.runtime.executor import ToolCall

_CANCEL_POLL_S = 0.05


class InProcessExecutor:
    def __init__(self, *, startup_timeout_s: float = 60.0) -> None:
        self._startup_timeout_s = startup_timeout_s
        self._lock = threading.Lock()
        self._instances: dict[str, Plugin] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start_plugin(self, record: PluginRecord) -> None:
        self._instance_for(record)

    def _instance_for(self, record: PluginRecord) -> Plugin:
        instance = self._instances.get(record.name)
        if instance is not None:
            return instance
        with self._lock:
            instance = self._instances.get(record.name)
            if instance is None:
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
                self._instances[record.name] = instance
        return instance

    def stop_plugin(self, name: str) -> None:
        with self._lock:
            instance = self._instances.pop(name, None)
        if instance is not None:
            instance.shutdown()

    def probe(self, record: PluginRecord) -> bool:
        return bool(self._instance_for(record).health_check())

    def shutdown(self, timeout_s: float = 10.0) -> None:
        for name in list(self._instances):
            with contextlib.suppress(Exception):  # a plugin's shutdown hook must not stop ours
                self.stop_plugin(name)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=timeout_s)

    # -- execution --------------------------------------------------------------------------

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        instance = self._instance_for(record)
        deadline = None if call.timeout_s is None else time.monotonic() + call.timeout_s
        ctx = ToolContext(
            plugin=call.plugin,
            tool=call.tool.name,
            progress_sink=call.context.progress,
            is_cancelled=lambda: call.context.cancelled,
            deadline=deadline,
        )
        if call.tool.is_async:
            future = asyncio.run_coroutine_threadsafe(
                _call_async(call, instance, ctx), self._event_loop()
            )
            return self._wait(future, call, deadline)
        # Sync tools run inline in the caller's thread: no hand-off on the hot path. The
        # limit is cooperative here (ctx.cancelled turns true); an overrun is still reported.
        result = normalise_output(call.tool.bind(instance, call.payload, ctx))
        self._check_finished(call, deadline)
        return result

    def _check_finished(self, call: ToolCall, deadline: float | None) -> None:
        if call.context.cancelled:
            raise VisorError("call was cancelled", code=ErrorCode.CANCELLED)
        if deadline is not None and time.monotonic() > deadline:
            raise _timeout(call)

    def _wait(
        self, future: concurrent.futures.Future[Any], call: ToolCall, deadline: float | None
    ) -> Any:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                future.cancel()
                raise _timeout(call)
            wait_s = _CANCEL_POLL_S if remaining is None else min(remaining, _CANCEL_POLL_S)
            try:
                result = future.result(timeout=wait_s)
            except concurrent.futures.TimeoutError:
                if call.context.cancelled:
                    future.cancel()
                    raise VisorError("call was cancelled", code=ErrorCode.CANCELLED) from None
                continue
            self._check_finished(call, None)
            return result

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


def _timeout(call: ToolCall) -> VisorError:
    return VisorError(
        f"tool {call.plugin}.{call.tool.name} exceeded its {call.timeout_s:g}s limit",
        code=ErrorCode.TIMEOUT,
        details={"timeout_s": call.timeout_s},
    )


async def _call_async(call: ToolCall, instance: Plugin, ctx: ToolContext) -> Any:
    return normalise_output(await call.tool.bind(instance, call.payload, ctx))
