"""Forwards what worker processes print to the server log, tagged with the plugin.

A worker's fd 1 and 2 point at a pipe whose read end lives here, so whatever a plugin (or
a C library under it) writes — text, binary garbage, a faulthandler traceback — becomes
log lines under ``visor.plugin.<name>`` and can never corrupt the IPC pipe. One thread
serves every worker through a selector, so the thread count does not grow with plugins.
The thread, selector and wake-up pipe exist only once a worker does: an app that is built
but never started holds no file descriptors.

Output is budgeted per call (the worker's handle marks each call's start, after reading
what the previous call left in the pipe, so no line is counted against the wrong call's
budget however late the pump thread gets to it): a call may log
:data:`CALL_LINES` lines / :data:`CALL_BYTES` bytes at once, refilled at
:data:`REFILL_LINES_PER_S` lines a second so a long tool's occasional messages still get
through. Past the budget lines are read (the pipe must drain) and dropped; one warning
says so when dropping starts, and one line says how much was dropped when the call ends
(the next call starts or the worker exits). A tool printing 20 MB costs a handful of log
lines, not 80,000.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_READ_BYTES = 64 * 1024
_MAX_LINE_CHARS = 4000
_MAX_PENDING_BYTES = 64 * 1024  # a line longer than this is logged in pieces
_CATCH_UP_READS = 64  # at a call's start, read at most this many chunks (4 MiB) first
CALL_LINES = 200
CALL_BYTES = 64 * 1024
REFILL_LINES_PER_S = 10.0
_REFILL_BYTES_PER_S = REFILL_LINES_PER_S * 200


@dataclass
class OutputSource:
    plugin: str
    pid: int
    logger: logging.Logger
    pending: bytearray = field(default_factory=bytearray)
    call_seq: int = 0  # bumped by the handle when a call starts (any thread)
    seen_seq: int = 0
    #: Reads what is in the pipe now (set by the pump); the handle calls it at a call's start.
    catch_up: Callable[[], None] = field(default=lambda: None)
    lines: float = CALL_LINES
    bytes: float = CALL_BYTES
    refilled: float = field(default_factory=time.monotonic)
    dropped_lines: int = 0
    dropped_bytes: int = 0
    closed: bool = False  # the pipe reached its end and its fd is closed

    def begin_call(self) -> None:
        """A new call starts: what the previous call printed is read first (the worker
        wrote it before answering), then the new call gets a fresh output budget."""
        self.catch_up()
        self.call_seq += 1

    def admit(self, size: int) -> bool:
        """Whether one line of ``size`` bytes fits the budget; counts it as dropped if not."""
        now = time.monotonic()
        if self.seen_seq != self.call_seq:
            self.report_dropped()
            self.seen_seq = self.call_seq
            self.lines, self.bytes, self.refilled = CALL_LINES, CALL_BYTES, now
        elif now > self.refilled:
            elapsed, self.refilled = now - self.refilled, now
            self.lines = min(CALL_LINES, self.lines + elapsed * REFILL_LINES_PER_S)
            self.bytes = min(CALL_BYTES, self.bytes + elapsed * _REFILL_BYTES_PER_S)
        if self.lines >= 1 and self.bytes >= size:
            self.lines -= 1
            self.bytes -= size
            return True
        if not self.dropped_lines:
            self.logger.warning(
                "[worker %d] output limit reached (%d lines / %d bytes a call); "
                "dropping the rest of this call's output",
                self.pid,
                CALL_LINES,
                CALL_BYTES,
            )
        self.dropped_lines += 1
        self.dropped_bytes += size
        return False

    def report_dropped(self) -> None:
        if self.dropped_lines:
            self.logger.warning(
                "[worker %d] dropped %d lines (%d bytes) of plugin output from one call",
                self.pid,
                self.dropped_lines,
                self.dropped_bytes,
            )
        self.dropped_lines = self.dropped_bytes = 0


@dataclass
class _Loop:
    selector: selectors.BaseSelector
    wake_r: int
    wake_w: int
    thread: threading.Thread | None = None


class OutputPump:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: _Loop | None = None
        self._closing = False

    def add(self, fd: int, plugin: str, pid: int) -> OutputSource:
        """Start forwarding ``fd`` (the pump owns and eventually closes it); the returned
        source's :meth:`~OutputSource.begin_call` marks where each call's budget starts."""
        source = OutputSource(plugin, pid, logging.getLogger(f"visor.plugin.{plugin}"))
        with self._lock:
            if self._closing:
                os.close(fd)
                return source
            loop = self._loop
            if loop is None:
                loop = self._loop = self._open()
            os.set_blocking(fd, False)  # reads never wait: the pump and catch_up share it
            reading = threading.Lock()
            source.catch_up = lambda: self._catch_up(loop, fd, source, reading)
            loop.selector.register(fd, selectors.EVENT_READ, (source, reading))
        os.write(loop.wake_w, b"x")
        return source

    def _open(self) -> _Loop:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        loop = _Loop(selectors.DefaultSelector(), wake_r, wake_w)
        loop.selector.register(wake_r, selectors.EVENT_READ, None)
        loop.thread = threading.Thread(
            target=self._run, args=(loop,), name="visor-worker-output", daemon=True
        )
        loop.thread.start()
        return loop

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop after draining what the (already stopped) workers wrote."""
        with self._lock:
            self._closing = True
            loop = self._loop
        if loop is None or loop.thread is None:
            return
        os.write(loop.wake_w, b"x")
        loop.thread.join(timeout_s)
        if loop.thread.is_alive():
            return  # leave the fds to the thread rather than close them under it
        with self._lock:
            for key in list(loop.selector.get_map().values()):
                if key.data is not None:
                    source, reading = key.data
                    with reading:
                        self._finish(loop, key.fd, source)
            loop.selector.close()
            os.close(loop.wake_r)
            os.close(loop.wake_w)
            self._loop = None

    def _run(self, loop: _Loop) -> None:
        while True:
            for key, _ in loop.selector.select(timeout=0.5):
                if key.data is None:
                    _drain(key.fd)
                else:
                    source, reading = key.data
                    with reading:
                        self._read(loop, key.fd, source)
            with self._lock:
                if self._closing:
                    self._drain_all_locked(loop)
                    return

    def _catch_up(
        self, loop: _Loop, fd: int, source: OutputSource, reading: threading.Lock
    ) -> None:
        """Read what the worker has written so far (bounded: it is idle between calls)."""
        with reading:
            for _ in range(_CATCH_UP_READS):
                if source.closed or not self._read(loop, fd, source):
                    return

    def _drain_all_locked(self, loop: _Loop) -> None:
        """On close: read what is left without blocking, then let close() tidy up."""
        for key in list(loop.selector.get_map().values()):
            if key.data is None:
                continue
            source, reading = key.data
            with reading:
                for _ in range(64):  # bounded: a live worker could write forever
                    if not self._read(loop, key.fd, source):
                        break

    def _read(self, loop: _Loop, fd: int, source: OutputSource) -> bool:
        if source.closed:
            return False
        try:
            chunk = os.read(fd, _READ_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self._finish(loop, fd, source)
            return False
        source.pending += chunk
        *lines, rest = source.pending.split(b"\n")
        for line in lines:
            _emit(source, bytes(line))
        if len(rest) > _MAX_PENDING_BYTES:
            _emit(source, bytes(rest))
            rest = bytearray()
        source.pending = bytearray(rest)
        return True

    def _finish(self, loop: _Loop, fd: int, source: OutputSource) -> None:
        if source.closed:
            return
        source.closed = True
        if source.pending:
            _emit(source, bytes(source.pending))
            source.pending = bytearray()
        source.report_dropped()
        with contextlib.suppress(KeyError, ValueError):
            loop.selector.unregister(fd)
        os.close(fd)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _emit(source: OutputSource, raw: bytes) -> None:
    if not raw.strip() or not source.admit(len(raw)):
        return
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    if not text.strip():
        return
    if len(text) > _MAX_LINE_CHARS:
        text = text[:_MAX_LINE_CHARS] + f"… [{len(text) - _MAX_LINE_CHARS} more chars]"
    source.logger.info("[worker %d] %s", source.pid, _printable(text))


def _printable(text: str) -> str:
    """Escape control characters so binary garbage cannot drive the operator's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in text)
