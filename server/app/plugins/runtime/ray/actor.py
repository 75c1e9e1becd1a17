"""The Ray actor that hosts one replica of a plugin.

The actor imports the plugin from its entry point (the :class:`WorkerSpec` names it; the
server never pickles a plugin object), constructs it and runs its startup hook once, so
models stay loaded between calls. It then runs calls exactly as a local worker process
does — same tool context, same failure classification, same result checks — because it
reuses the worker's call loop; only the transport differs.

Everything the actor returns is a frame of :mod:`~app.plugins.runtime.process.ipc.protocol`
as ``bytes``: Ray moves plain bytes and the server decodes them with the plain-data
unpickler, so a plugin cannot make the server run code through a crafted result.

Calls run one at a time in the default concurrency group. :meth:`PluginActor.watch` runs
in a separate ``control`` group, beside a running call: it long-polls for the call's
latest progress and for the actor's resident memory, which is how progress travels to the
caller and how a tool that blows past its memory limit is caught.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from typing import Any

import psutil
import ray

from app.errors import ErrorCode
from app.plugins.runtime.process import worker
from app.plugins.runtime.process.config import WorkerSpec
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure
from app.plugins.runtime.process.memory import cap_heap, keep_freed_memory

_WATCH_SLICE_S = 0.05
_PROGRESS_KEPT = 256  # reports kept per call until the caller fetches them


class _CallServer(worker._Server):
    """The worker's call loop with progress kept for :meth:`PluginActor.watch`."""

    def __init__(self, plugin: Any, spec: WorkerSpec, actor: PluginActor) -> None:
        super().__init__(plugin, None, spec)  # type: ignore[arg-type]  # no pipe: Ray returns
        self._actor = actor

    def _report_spans(self, finished: list[Any]) -> None:
        self._actor.spans = finished  # returned with the reply (no pipe here)

    def _progress_sink(self) -> Any:
        actor = self._actor

        def sink(fraction: float, message: str | None) -> None:
            actor.report_progress(float(fraction), None if message is None else str(message))

        return sink


@ray.remote(concurrency_groups={"control": 2})  # type: ignore[call-overload]
class PluginActor:
    def __init__(self, spec: WorkerSpec, import_path: tuple[str, ...] = ()) -> None:
        self._spec = spec
        self._startup: bytes
        self._server: _CallServer | None = None
        self._cond = threading.Condition()
        self._call_id: str | None = None
        self._progress: collections.deque[tuple[int, float, str | None]] = collections.deque(
            maxlen=_PROGRESS_KEPT
        )
        self._seq = 0
        self.spans: list[Any] = []  # the last call's finished spans (_CallServer)
        self._process = psutil.Process()
        sys.path.extend(p for p in import_path if p not in sys.path)
        cap_heap(spec.memory_limit_mb)
        keep_freed_memory()
        try:
            plugin = worker.build_plugin(spec)
        except BaseException as exc:  # cannot import or construct: no retry will help
            self._startup = protocol.failure_frame(worker._startup_failure(exc, unavailable=True))
            return
        try:
            plugin.startup()
        except BaseException as exc:
            self._startup = protocol.failure_frame(worker._startup_failure(exc))
            return
        self._server = _CallServer(plugin, spec, self)
        node = ray.get_runtime_context().get_node_id()
        self._startup = protocol.frame(protocol.READY, {"pid": os.getpid(), "node_id": node})

    def ready(self) -> bytes:
        """The startup outcome: a READY frame, or the failure of import, constructor, hook."""
        return self._startup

    def call(self, call_id: str, request: bytes) -> tuple[bytes, bool, list[list[Any]], list[Any]]:
        """One call (a worker's call frame): the worker's ``(reply, recycle)``, the
        progress reports the caller may not have fetched yet and the call's finished spans
        (when the frame carried a traceparent; app.tracing.remote)."""
        server = self._server
        if server is None:
            failure = Failure(ErrorCode.PLUGIN_UNAVAILABLE.value, "the plugin did not start")
            return protocol.failure_frame(failure), True, [], []
        _, tool, payload, timeout_s, *rest = protocol.decode_command(request)
        with self._cond:
            self._call_id = call_id
            self._progress.clear()
        try:
            reply, recycle = server._call(tool, payload, timeout_s, *rest)
        finally:
            with self._cond:
                self._call_id = None
                self._cond.notify_all()
        with self._cond:
            progress = [list(p) for p in self._progress]
        finished, self.spans = self.spans, []
        return reply, recycle, progress, finished

    def report_progress(self, fraction: float, message: str | None) -> None:
        with self._cond:
            self._seq += 1
            self._progress.append((self._seq, fraction, message[:1000] if message else message))
            self._cond.notify_all()

    @ray.method(concurrency_group="control")
    def watch(
        self, call_id: str, after_seq: int, memory_limit_mb: int | None, wait_s: float
    ) -> dict[str, Any]:
        """Wait until call ``call_id`` reports progress newer than ``after_seq`` (return
        those reports), ends, or exceeds ``memory_limit_mb`` resident; at most ``wait_s``."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                if self._call_id != call_id:
                    return {"done": True}
                news = [list(p) for p in self._progress if p[0] > after_seq]
                if news:
                    return {"progress": news}
                if memory_limit_mb and self._rss_mb() > memory_limit_mb:
                    return {"rss_mb": round(self._rss_mb(), 1)}
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {}
                self._cond.wait(min(_WATCH_SLICE_S, remaining))

    @ray.method(concurrency_group="control")
    def health(self) -> bool:
        if self._server is None:
            return False
        try:
            return bool(self._server._plugin.health_check())
        except Exception:
            return False

    def stop(self) -> None:
        """Run the plugin's shutdown hook (the pool kills the actor afterwards)."""
        if self._server is not None:
            try:
                self._server._plugin.shutdown()
            except Exception:
                import traceback

                traceback.print_exc()

    def _rss_mb(self) -> float:
        try:
            return float(self._process.memory_info().rss) / (1024 * 1024)
        except psutil.Error:
            return 0.0
