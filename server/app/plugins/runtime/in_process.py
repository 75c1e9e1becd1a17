"""In-process execution: for trusted, latency-critical tools and for debugging.

Sync tools run on a bounded thread pool and async tools on one private event loop, so a
time limit can be answered promptly with ``ExecutionError/timeout``. A thread cannot be
killed, though: a tool stuck in-process keeps its pool thread until it returns. Use
process isolation (the default) for tools you do not trust.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.base import Plugin, ToolContext, normalise_output
from app.plugins.loader.plugin_registry import PluginRecord
from app.plugins.runtime.executor import ToolCall

_CANCEL_POLL_S = 0.05


class InProcessExecutor:
    def __init__(self, *, max_threads: int = 32, startup_timeout_s: float = 60.0) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix="visor-tool"
        )
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
                future = self._pool.submit(instance.startup)
                try:
                    future.result(timeout=self._startup_timeout_s)
                except concurrent.futures.TimeoutError as exc:
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
            try:
                self.stop_plugin(name)
            except Exception:  # a plugin's shutdown hook must not stop ours
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=timeout_s)

    # -- execution --------------------------------------------------------------------------

    def execute(self, record: PluginRecord, call: ToolCall) -> Any:
        instance = self._instance_for(record)
        ctx = ToolContext(
            plugin=call.plugin,
            tool=call.tool.name,
            progress_sink=call.context.progress,
            cancel_event=call.context.cancel_event,
        )
        if call.tool.is_async:
            future = asyncio.run_coroutine_threadsafe(
                _call_async(call, instance, ctx), self._event_loop()
            )
        else:
            future = self._pool.submit(_call_sync, call, instance, ctx)
        return self._wait(future, call)

    def _wait(self, future: concurrent.futures.Future[Any], call: ToolCall) -> Any:
        deadline = None if call.timeout_s is None else time.monotonic() + call.timeout_s
        cancel = call.context.cancel_event
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                future.cancel()
                raise VisorError(
                    f"tool {call.plugin}.{call.tool.name} exceeded its {call.timeout_s}s limit",
                    code=ErrorCode.TIMEOUT,
                    details={"timeout_s": call.timeout_s},
                )
            wait_s = _CANCEL_POLL_S if remaining is None else min(remaining, _CANCEL_POLL_S)
            try:
                result = future.result(timeout=wait_s)
            except concurrent.futures.TimeoutError:
                if cancel.is_set():
                    future.cancel()
                    raise VisorError("call was cancelled", code=ErrorCode.CANCELLED) from None
                continue
            if cancel.is_set():  # the tool noticed the cancel and stopped early
                raise VisorError("call was cancelled", code=ErrorCode.CANCELLED)
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


def _call_sync(call: ToolCall, instance: Plugin, ctx: ToolContext) -> Any:
    return normalise_output(call.tool.bind(instance, call.payload, ctx))


async def _call_async(call: ToolCall, instance: Plugin, ctx: ToolContext) -> Any:
    return normalise_output(await call.tool.bind(instance, call.payload, ctx))
