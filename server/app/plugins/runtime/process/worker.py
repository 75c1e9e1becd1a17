"""The worker process: builds one plugin, runs its startup hook once, then serves calls.

Runs in a *spawned* interpreter (never forked, so a CUDA-using plugin starts clean). Before
any plugin code is imported it points fd 1 and 2 at the server's log pipe (prints cannot
reach the IPC pipe), applies the memory limit and starts a watchdog that exits if the server
goes away. Then it answers one frame at a time on its private duplex pipe: a call, a health
check or stop. The tool runs on the main thread; the server stops a runaway tool by
killing this process, never by asking it.
"""

from __future__ import annotations

import asyncio
import faulthandler
import importlib
import inspect
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins import frames
from app.plugins.base import Plugin, ToolContext, ToolSpec, normalise_output
from app.plugins.frames import Attachments
from app.plugins.runtime.process.config import WorkerSpec
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure
from app.plugins.runtime.process.memory import cap_heap, keep_freed_memory
from app.plugins.runtime.process.tree import become_subreaper, kill_tree
from app.tracing import remote
from app.tracing.remote import WorkerTracer

_PARENT_POLL_S = 0.5
_PROGRESS_INTERVAL_S = 0.02  # at most ~50 progress frames a second
_ERROR_TAG = bytes((protocol.ERROR,))


def main(spec: WorkerSpec, conn: Connection, output: Connection) -> None:
    """Entry point of a worker process (the ``target`` of its ``Process``)."""
    # Our own session and process group: whatever the plugin starts stays in it, and the
    # server kills the whole group with us (tree.kill_tree), not just this process.
    os.setsid()
    # And the reaper of our orphans: a subprocess that double-forks or calls setsid stays
    # in our tree (not PID 1's), so the sweeps in tree.py find it.
    become_subreaper()
    _redirect_stdio(output)
    # Ctrl-C and a service manager's SIGTERM to the whole group are the server's to handle:
    # it lets in-flight calls finish, then stops us (SIGKILL still works, and we exit on
    # our own if the server disappears).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _watch_parent(os.getppid())
    cap_heap(spec.memory_limit_mb)
    keep_freed_memory()
    try:
        _run(spec, conn)
    finally:
        # However we leave (stop frame, recycle, failed startup): nothing a tool or hook
        # started outlives us, whichever session or group it moved to.
        kill_tree(os.getpid(), include_root=False)


def _run(spec: WorkerSpec, conn: Connection) -> None:
    try:
        plugin = build_plugin(spec)
    except BaseException as exc:  # cannot import or construct: no retry will help
        conn.send_bytes(protocol.failure_frame(_startup_failure(exc, unavailable=True)))
        return
    try:
        plugin.startup()
    except BaseException as exc:  # every startup failure is reported
        conn.send_bytes(protocol.failure_frame(_startup_failure(exc)))
        return
    conn.send_bytes(protocol.frame(protocol.READY, {"pid": os.getpid()}))
    _Server(plugin, conn, spec).serve()


def _redirect_stdio(output: Connection) -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    fd = output.fileno()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    output.close()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # Fresh line-buffered streams on the new fds (the inherited ones may think they
    # write to a seekable file, e.g. under pytest's capture).
    sys.stdout = open(1, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    faulthandler.enable(file=sys.stderr)  # a segfault leaves a Python traceback in the log


def _watch_parent(parent_pid: int) -> None:
    """Exit when the server dies, even mid-tool (an orphan would hold models and CPU)."""

    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent_pid:
                # Take the tool's own children with us, in our group or not (tree.py).
                kill_tree(os.getpid(), include_root=False)
                os.killpg(os.getpgrp(), signal.SIGKILL)
                os._exit(0)

    threading.Thread(target=watch, name="visor-parent-watch", daemon=True).start()


def build_plugin(spec: WorkerSpec) -> Plugin:
    """Import the plugin the way the server's loader did: entry point first, class second."""
    from app.plugins.loader.plugin_loader import resolve_plugin

    errors: list[str] = []
    for path in (spec.origin, spec.class_path):
        if not path:
            continue
        try:
            target = _import_path(path)
        except Exception as exc:
            errors.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        plugin_cls, instance = resolve_plugin(target)
        if plugin_cls.name != spec.plugin:
            errors.append(f"{path} provides plugin {plugin_cls.name!r}, not {spec.plugin!r}")
            continue
        return instance if instance is not None else plugin_cls()
    raise ImportError("cannot import the plugin in a worker: " + "; ".join(errors or ["no path"]))


def _import_path(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    target: Any = importlib.import_module(module_name.strip())
    for part in filter(None, attr.strip().split(".")):
        target = getattr(target, part)
    return target


def _startup_failure(exc: BaseException, *, unavailable: bool = False) -> Failure:
    declared = isinstance(exc, VisorError) and exc.code is ErrorCode.PLUGIN_UNAVAILABLE
    unavailable = unavailable or declared
    return Failure(
        code=ErrorCode.PLUGIN_UNAVAILABLE.value if unavailable else ErrorCode.WORKER_CRASHED.value,
        message=str(exc) if declared else f"{type(exc).__name__}: {exc}",
        exc_type=type(exc).__name__,
        traceback="".join(traceback.format_exception(exc)),
    )


class _Server:
    """The worker's request loop; one call at a time, on the main thread."""

    def __init__(self, plugin: Plugin, conn: Connection, spec: WorkerSpec) -> None:
        self._plugin = plugin
        self._conn = conn
        self._spec = spec
        self._tools: dict[str, ToolSpec] = type(plugin).tool_specs()
        self._send_lock = threading.Lock()  # tools may report progress from their threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tracer = WorkerTracer()  # records only calls that carry a traceparent

    def serve(self) -> None:
        while True:
            try:
                command = protocol.decode_command(self._conn.recv_bytes())
            except (EOFError, OSError):
                break  # the server closed the pipe: it is gone or done with us
            kind = command[0]
            if kind == protocol.CALL:
                reply, recycle = self._call(*command[1:7])
                self._send(reply)
                if recycle:
                    break
            elif kind == protocol.BATCH:
                replies, recycle = self._batch(*command[1:3])
                self._send(protocol.encode_batch_result(replies))
                if recycle:
                    break
            elif kind == protocol.HEALTH:
                self._send(self._health())
            elif kind == protocol.STOP:
                break
        self._stop()

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self._conn.send_bytes(data)

    def _stop(self) -> None:
        try:
            self._plugin.shutdown()
        except Exception:
            traceback.print_exc()
        self._conn.close()

    # -- one call ---------------------------------------------------------------------------

    def _call(
        self,
        tool_name: str,
        payload: dict[str, Any],
        timeout_s: float | None,
        progress: bool = True,
        trace: str | None = None,
        attachments: Attachments | None = None,
    ) -> tuple[bytes, bool]:
        """The reply frame for one call and whether this worker should retire after it.

        ``progress`` false: nobody listens, so the tool's reports stay in this process.
        ``trace``: the caller's span; the run is recorded under it and reported first.
        ``attachments``: decoded frames the payload's image references name."""
        if trace is None:
            return self._call_untraced(tool_name, payload, timeout_s, progress, attachments)
        attributes = {"visor.plugin": self._spec.plugin, "visor.tool": tool_name}
        with self._tracer.run(trace, "visor.tool_run", attributes) as finished:
            reply, recycle = self._call_untraced(
                tool_name, payload, timeout_s, progress, attachments
            )
            if reply[:1] == _ERROR_TAG:
                remote.mark_failed(Failure.from_json(protocol.split(reply)[1]).code)
        if finished:
            self._report_spans(finished)
        return reply, recycle

    def _report_spans(self, finished: list[Any]) -> None:
        self._send(protocol.frame(protocol.SPANS, finished))

    def _call_untraced(
        self,
        tool_name: str,
        payload: dict[str, Any],
        timeout_s: float | None,
        progress: bool,
        attachments: Attachments | None = None,
    ) -> tuple[bytes, bool]:
        where = f"{self._spec.plugin}.{tool_name}"
        spec = self._tools.get(tool_name)
        if spec is None:
            failure = Failure(ErrorCode.TOOL_NOT_FOUND.value, f"plugin has no tool {tool_name!r}")
            return protocol.failure_frame(failure), False
        try:
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            with frames.attached(attachments):
                value = self._invoke(spec, tool_name, payload, deadline, progress)
            return self._encode(where, value), False
        except BaseException as exc:
            return self._failed(where, exc)

    def _failed(self, where: str, exc: BaseException) -> tuple[bytes, bool]:
        """The reply frame for a call that raised ``exc``, and whether to retire."""
        if isinstance(exc, MemoryError):
            return protocol.failure_frame(_memory_failure(where, self._spec)), True
        if isinstance(exc, VisorError):
            failure = Failure(
                code=exc.code.value,
                message=exc.message,
                exc_type=type(exc).__name__,
                traceback="".join(traceback.format_exception(exc)),
                details=_json_safe(exc.details),
            )
            return protocol.failure_frame(failure), False
        failure = Failure(  # the tool's own failure, any kind
            code=ErrorCode.TOOL_ERROR.value,
            message=f"tool {where} raised {type(exc).__name__}: {exc}",
            exc_type=type(exc).__name__,
            traceback="".join(traceback.format_exception(exc)),
            recycle=not isinstance(exc, Exception),  # SystemExit and friends: start afresh
        )
        return protocol.failure_frame(failure), failure.recycle

    def _batch(self, tool_name: str, items: list[tuple[Any, ...]]) -> tuple[list[bytes], bool]:
        """Reply frames for a batch of calls of one tool, in order, and whether to retire.

        With a batch handler, the calls whose input the tool accepts run together; any
        other call, and every call of a batch whose handler raised, runs on its own, so each
        gets exactly the reply a call of its own gets."""
        spec = self._tools.get(tool_name)
        replies: list[bytes | None] = [None] * len(items)
        together: list[tuple[int, Any, ToolContext]] = []
        attachments: dict[str, Any] = {}
        for item in items:  # each call's frames, keyed by their references
            attachments.update(item[2] if len(item) > 2 and item[2] else {})
        if spec is not None and spec.batch is not None and spec.batch.handler is not None:
            for index, (payload, timeout_s, *_) in enumerate(items):
                try:
                    args = spec.prepare_args(payload)
                except Exception:
                    continue  # answered on its own below, with its own error
                deadline = None if timeout_s is None else time.monotonic() + timeout_s
                ctx = ToolContext(plugin=self._spec.plugin, tool=tool_name, deadline=deadline)
                together.append((index, args, ctx))
        if len(together) > 1 and spec is not None:
            where = f"{self._spec.plugin}.{tool_name}"
            try:
                with frames.attached(attachments):
                    values = spec.bind_batch(
                        self._plugin, [a for _, a, _ in together], [c for _, _, c in together]
                    )
            except MemoryError:
                failure = protocol.failure_frame(_memory_failure(where, self._spec))
                return [failure] * len(items), True
            except Exception:
                values = None  # run them one by one: each call gets its own answer
            if values is not None:
                for (index, _, _), value in zip(together, values, strict=True):
                    if isinstance(value, BaseException):  # that call's own failure
                        reply, recycle = self._failed(where, value)
                        replies[index] = reply
                        if recycle:
                            return [r if r is not None else reply for r in replies], True
                        continue
                    try:
                        replies[index] = self._encode(where, normalise_output(value))
                    except MemoryError:
                        failure = protocol.failure_frame(_memory_failure(where, self._spec))
                        return [failure] * len(items), True
        for index, (payload, timeout_s, *rest) in enumerate(items):
            if replies[index] is not None:
                continue
            reply, recycle = self._call(tool_name, payload, timeout_s, False, None, *rest)
            replies[index] = reply
            if recycle:  # this process must go: the calls not yet run are not run here
                lost = protocol.failure_frame(
                    Failure(
                        ErrorCode.WORKER_CRASHED.value,
                        f"the worker running plugin {self._spec.plugin!r} had to be "
                        "replaced during a batch before this call ran",
                    )
                )
                return [r if r is not None else lost for r in replies], True
        return [r if r is not None else b"" for r in replies], False

    def _invoke(
        self,
        spec: ToolSpec,
        tool_name: str,
        payload: dict[str, Any],
        deadline: float | None,
        progress: bool = True,
    ) -> Any:
        ctx = ToolContext(
            plugin=self._spec.plugin,
            tool=tool_name,
            progress_sink=self._progress_sink() if progress else None,
            deadline=deadline,  # ctx.cancelled turns true at the limit, before the kill
        )
        value = spec.bind(self._plugin, payload, ctx)
        if inspect.isawaitable(value):
            value = self._event_loop().run_until_complete(value)
        return normalise_output(value)

    def _encode(self, where: str, value: Any) -> bytes:
        if not isinstance(value, dict):
            failure = Failure(
                ErrorCode.INVALID_OUTPUT.value,
                f"tool {where} returned {type(value).__name__}, expected an object",
                details={"returned_type": type(value).__name__},
            )
            return protocol.failure_frame(failure)
        try:
            encoded = protocol.encode_result(value)
        except MemoryError:
            raise
        except Exception as exc:  # unpicklable: a lock, a generator, a lambda …
            failure = Failure(
                ErrorCode.INVALID_OUTPUT.value,
                f"tool {where} returned a result that is not JSON-serialisable: "
                f"{type(exc).__name__}: {exc}",
            )
            return protocol.failure_frame(failure)
        limit = self._spec.max_result_bytes
        if len(encoded) > limit:
            failure = Failure(
                ErrorCode.INVALID_OUTPUT.value,
                f"tool {where} returned about {len(encoded)} bytes; the limit is {limit}",
                details={"limit_bytes": limit},
            )
            return protocol.failure_frame(failure)
        return encoded

    def _progress_sink(self) -> Any:
        last = [0.0]

        def sink(fraction: float, message: str | None) -> None:
            now = time.monotonic()
            if fraction < 1.0 and now - last[0] < _PROGRESS_INTERVAL_S:
                return
            last[0] = now
            text = None if message is None else str(message)[:1000]
            self._send(protocol.frame(protocol.PROGRESS, [fraction, text]))

        return sink

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def _health(self) -> bytes:
        try:
            ok = bool(self._plugin.health_check())
            return protocol.frame(protocol.HEALTHY, {"ok": ok})
        except Exception as exc:
            return protocol.frame(protocol.HEALTHY, {"ok": False, "message": repr(exc)})


def _memory_failure(where: str, spec: WorkerSpec) -> Failure:
    return Failure(
        ErrorCode.MEMORY_LIMIT.value,
        f"tool {where} exceeded the worker memory limit of {spec.memory_limit_mb} MB",
        exc_type="MemoryError",
        details={"memory_limit_mb": spec.memory_limit_mb},
        recycle=True,
    )


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    import orjson

    try:
        return dict(orjson.loads(orjson.dumps(details, default=str)))
    except Exception:
        return {}
