"""The server's side of one worker process: spawn, wait ready, call, kill.

A call is answered on the caller's own thread: it writes one frame and waits on the
worker's pipe, so a fast tool costs two pipe hops and no thread hand-off. While waiting it
watches, in short slices, for the deadline, the caller's cancel flag and the worker's
resident memory; any of them kills the process (SIGKILL works on a tool stuck in C code or
``time.sleep``). A worker that dies on its own shows up as end-of-file on the pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
import weakref
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from typing import Any

import psutil

from app.errors import ErrorCode
from app.plugins.runtime.process import tree, worker
from app.plugins.runtime.process.calls import (
    CallWatch,
    ProgressCallback,
    StartupFailed,
    WorkerLost,
    decode_reply,
    deliver_progress,
    is_reply,
)
from app.plugins.runtime.process.config import WorkerSpec
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure
from app.plugins.runtime.process.output import OutputPump, OutputSource
from app.tracing import remote

_REAP_S = 2.0

_SPAWN: SpawnContext = multiprocessing.get_context("spawn")


class WorkerHandle:
    def __init__(self, spec: WorkerSpec, pump: OutputPump) -> None:
        self.spec = spec
        self._pump = pump
        self._conn: Connection | None = None
        self._poller: Any = None  # select.poll on our pipe end, made once (see _readable)
        self._process: Any = None  # multiprocessing.context.SpawnProcess
        self._ps: psutil.Process | None = None
        self._output: OutputSource | None = None  # budgets our stdout/stderr per call
        self.calls = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        parent_conn, child_conn = _SPAWN.Pipe(duplex=True)
        _widen(parent_conn)
        _widen(child_conn)
        out_r, out_w = os.pipe()
        writer = Connection(out_w, readable=False)
        process = _SPAWN.Process(
            target=worker.main,
            args=(self.spec, child_conn, writer),
            name=f"visor-worker-{self.spec.plugin}",
            daemon=False,  # daemonic processes may not start children; plugins might
        )
        try:
            process.start()
        finally:
            child_conn.close()
            writer.close()
        self._conn, self._process = parent_conn, process
        self._poller = select.poll()
        self._poller.register(parent_conn.fileno(), select.POLLIN)
        _live.add(self)
        self._output = self._pump.add(out_r, self.spec.plugin, process.pid or 0)

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the startup hook finished; raise :class:`StartupFailed` otherwise."""
        conn = self._require_conn()
        try:
            if not conn.poll(timeout_s):
                self.kill()
                raise StartupFailed(f"startup took longer than {timeout_s:g}s")
            tag, body = protocol.split(conn.recv_bytes())
        except (EOFError, OSError):
            raise StartupFailed(f"worker exited during startup ({self._exit_text()})") from None
        if tag == protocol.READY:
            return
        failure = Failure.from_json(body) if tag == protocol.ERROR else None
        self.kill()
        if failure is None:
            raise StartupFailed(f"unexpected frame {tag!r} during startup")
        raise StartupFailed(
            failure.message,
            unavailable=failure.code == ErrorCode.PLUGIN_UNAVAILABLE.value,
            traceback=failure.traceback,
        )

    def request_stop(self) -> None:
        """Ask the worker to run its shutdown hook and exit (returns at once)."""
        conn = self._conn
        if conn is not None and self.is_alive():
            with contextlib.suppress(OSError, ValueError):
                conn.send_bytes(protocol.encode_command(protocol.STOP))

    def stop(self, grace_s: float = 2.0) -> None:
        """Stop gracefully within ``grace_s`` (after :meth:`request_stop`), else kill."""
        self.request_stop()
        if self._process is not None:
            self._process.join(max(0.0, grace_s))
        self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, reap it, close our pipe end
        (idempotent)."""
        process = self._process
        if process is not None:
            self.signal_kill()
            process.join(_REAP_S)
            tree.kill_tree(process.pid)  # what a worker that exited by itself left behind
        self.close_pipe()
        _live.discard(self)

    def signal_kill(self) -> None:
        """SIGKILL the worker's process tree: safe from any thread, even while another one
        waits on the pipe.

        The worker leads its own process group (``setsid``) and is the subreaper of its
        descendants, so :func:`tree.kill_tree` finds whatever a tool started, also what
        left the group or double-forked (see tree.py).
        """
        process = self._process
        if process is None or process.pid is None:
            return
        tree.kill_tree(process.pid)
        with contextlib.suppress(OSError, ValueError):
            if process.exitcode is None:
                process.kill()

    def close_pipe(self) -> None:
        conn, self._conn = self._conn, None
        self._poller = None
        if conn is not None:
            conn.close()

    # -- requests ---------------------------------------------------------------------------

    def call(
        self,
        request: bytes,
        *,
        where: str,
        timeout_s: float | None,
        cancel: threading.Event,
        progress: ProgressCallback | None,
        memory_limit_mb: int | None,
        stopping: threading.Event,
    ) -> Any:
        """Send one call and wait for its result (decoded JSON).

        Raises :class:`WorkerFailure` when the worker reported a failure and
        :class:`WorkerLost` when the process died or had to be killed.
        """
        watch = CallWatch(
            where, timeout_s, cancel, stopping, kill=self.signal_kill, worker="worker"
        )
        tag, body = self._exchange(request, watch, progress, memory_limit_mb, stopping)
        return decode_reply(where, tag, body)

    def call_batch(
        self,
        request: bytes,
        *,
        watch: Any,
        memory_limit_mb: int | None,
        stopping: threading.Event,
    ) -> list[tuple[int, Any]]:
        """Send one batch frame and wait for its calls' replies (tag and body each, in
        order); ``watch`` is the batch's (:class:`~.batching.BatchWatch`)."""
        tag, body = self._exchange(request, watch, None, memory_limit_mb, stopping)
        if tag != protocol.BATCH_RESULT:
            return [(tag, body)]  # the worker could not read the batch: decode_reply says why
        return protocol.split_batch(body)

    def _exchange(
        self,
        request: bytes,
        watch: Any,
        progress: ProgressCallback | None,
        memory_limit_mb: int | None,
        stopping: threading.Event,
    ) -> tuple[int, Any]:
        """Write ``request`` and wait for its reply frame, watching deadline, cancel and
        memory in slices (``watch`` kills the worker and raises when it must)."""
        conn = self._require_conn()
        self.calls += 1
        if self._output is not None:
            self._output.begin_call()
        try:
            conn.send_bytes(request)
        except OSError:
            raise self._lost() from None
        while True:
            if self._readable(conn, watch.slice_s()):
                try:
                    tag, body = protocol.split(conn.recv_bytes())
                except (EOFError, OSError):
                    raise self._lost(stopping) from None
                if tag == protocol.PROGRESS:
                    deliver_progress(progress, body)
                elif tag == protocol.SPANS:
                    remote.export(body)
                elif is_reply(tag) or tag == protocol.BATCH_RESULT:
                    return tag, body
                continue  # a stray frame (e.g. late progress from a tool's thread)
            watch.check()
            if memory_limit_mb and self._rss_mb() > memory_limit_mb:
                self.signal_kill()
                raise _memory_lost(self.spec.plugin, memory_limit_mb)

    def _readable(self, conn: Connection, wait_s: float) -> bool:
        """``conn.poll(wait_s)`` without its cost: ``Connection.poll`` builds, registers and
        drops a selector on every call, and a waiting call polls every slice. End-of-file
        and errors count as readable (the read that follows says what happened)."""
        poller = self._poller
        if poller is None:
            return conn.poll(wait_s)
        try:
            return bool(poller.poll(wait_s * 1000.0))
        except InterruptedError:
            return False

    def health(self, timeout_s: float) -> bool:
        conn = self._require_conn()
        try:
            conn.send_bytes(protocol.encode_command(protocol.HEALTH))
            deadline = time.monotonic() + timeout_s
            while conn.poll(max(0.0, deadline - time.monotonic())):
                tag, body = protocol.split(conn.recv_bytes())
                if tag == protocol.HEALTHY:
                    return bool(body.get("ok"))
        except (EOFError, OSError):
            pass
        return False

    def _rss_mb(self) -> float:
        try:
            if self._ps is None:
                self._ps = psutil.Process(self.pid)
            return float(self._ps.memory_info().rss) / (1024 * 1024)
        except (psutil.Error, ValueError):
            return 0.0

    def _lost(self, stopping: threading.Event | None = None) -> WorkerLost:
        """The pipe broke: the process died. Say how, from its exit status."""
        process = self._process
        if process is not None:
            process.join(_REAP_S)
        if stopping is not None and stopping.is_set():
            return WorkerLost(ErrorCode.CANCELLED, "call cancelled: the server is shutting down")
        code = process.exitcode if process is not None else None
        return WorkerLost(
            ErrorCode.WORKER_CRASHED,
            f"the worker running plugin {self.spec.plugin!r} died ({self._exit_text()})",
            {"exitcode": code, "signal": _signal_name(code)},
        )

    def _exit_text(self) -> str:
        process = self._process
        if process is None:
            return "never started"
        process.join(_REAP_S)
        code = process.exitcode
        if code is None:
            return "still running"
        name = _signal_name(code)
        return f"killed by {name}" if name else f"exit code {code}"

    def _require_conn(self) -> Connection:
        if self._conn is None:
            raise WorkerLost(ErrorCode.WORKER_CRASHED, "the worker is no longer available")
        return self._conn


#: Socket buffer of a worker's channel: a photo-sized payload (hundreds of KB of base64)
#: goes down in one write instead of 64 KB pieces that each wait for the worker to be
#: scheduled and read — the part of a call's cost that grew with the payload under load.
_CHANNEL_BUFFER_BYTES = 4 * 1024 * 1024


def _widen(conn: Connection) -> None:
    """Enlarge both directions of a duplex pipe (a Unix socket pair) where the OS allows."""
    import socket

    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return
    with sock, contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _CHANNEL_BUFFER_BYTES)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _CHANNEL_BUFFER_BYTES)


def _memory_lost(plugin: str, limit_mb: int) -> WorkerLost:
    return WorkerLost(
        ErrorCode.MEMORY_LIMIT,
        f"the worker running plugin {plugin!r} exceeded its memory limit of {limit_mb} MB",
        {"memory_limit_mb": limit_mb},
    )


def _signal_name(exitcode: int | None) -> str | None:
    if exitcode is None or exitcode >= 0:
        return None
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


# -- no orphans: whatever is still running when the interpreter exits is killed -----------

_live: weakref.WeakSet[WorkerHandle] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for handle in list(_live):
        handle.signal_kill()
