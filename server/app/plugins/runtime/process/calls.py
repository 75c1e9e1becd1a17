"""What a call to a worker shares, whichever kind runs it (a local process or a Ray actor).

The failure vocabulary (:class:`WorkerLost`, :class:`WorkerFailure`, :class:`StartupFailed`),
the reading of a reply frame (:func:`decode_reply`), the caller's progress sink
(:func:`deliver_progress`) and the watch a waiting call keeps on its deadline, its caller's
cancel flag and the server's stopping flag (:class:`CallWatch`), which stops the worker
through the kill it is given. The pool and ToolRunner then treat both executors alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from app.errors import ErrorCode
from app.plugins.runtime.process.ipc import protocol
from app.plugins.runtime.process.ipc.protocol import Failure

log = logging.getLogger("visor.runtime")

SLICE_S = 0.05  # how often a waiting call looks at its deadline, cancel flag and memory

ProgressCallback = Callable[[float, str | None], None]


class WorkerLost(Exception):
    """The worker had to go (or went) during a call; ``code`` says how the call ends."""

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})


class StartupFailed(Exception):
    """A worker could not be made ready (import, constructor or startup hook failed)."""

    def __init__(self, message: str, *, unavailable: bool = False, traceback: str = ""):
        super().__init__(message)
        self.message = message
        self.unavailable = unavailable
        self.traceback = traceback


class WorkerFailure(Exception):
    """The worker answered the call with a :class:`Failure` (the tool raised, …)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def decode_reply(where: str, tag: int, body: Any) -> Any:
    """The call's result from its reply frame; raises :class:`WorkerFailure` for a failure
    the worker reported, a result that is not plain data, or a frame that is no reply."""
    if tag == protocol.RESULT:
        return _load_result(where, body)
    if tag == protocol.ERROR:
        raise WorkerFailure(Failure.from_json(body))
    raise WorkerFailure(Failure(ErrorCode.INTERNAL.value, f"unexpected frame {tag!r}"))


def is_reply(tag: int) -> bool:
    return tag == protocol.RESULT or tag == protocol.ERROR


def deliver_progress(progress: ProgressCallback | None, report: Any) -> None:
    """Hand one ``(fraction, message)`` report to the caller's sink, which must not fail
    the call."""
    if progress is None:
        return
    try:
        fraction, message = report
        progress(float(fraction), message)
    except Exception:
        log.warning("progress callback failed", exc_info=True)


class CallWatch:
    """A call's deadline, its caller's cancel flag and the server's stopping flag.

    ``worker`` names what is stopped in the messages ("worker", "actor"); ``kill`` stops it
    (from the waiting thread, so it must not wait on the call itself).
    """

    __slots__ = ("_kill", "cancel", "deadline", "stopping", "timeout_s", "where", "worker")

    def __init__(
        self,
        where: str,
        timeout_s: float | None,
        cancel: threading.Event,
        stopping: threading.Event,
        *,
        kill: Callable[[], None],
        worker: str,
    ) -> None:
        self.where = where
        self.timeout_s = timeout_s
        self.cancel = cancel
        self.stopping = stopping
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self.worker = worker
        self._kill = kill

    def slice_s(self) -> float:
        """How long to wait for the worker before looking again (never past the deadline)."""
        if self.deadline is None:
            return SLICE_S
        return max(0.0, min(SLICE_S, self.deadline - time.monotonic()))

    def check(self) -> None:
        """Kill the worker and raise :class:`WorkerLost` once the deadline has passed or
        the call is cancelled (by its caller or a stopping server)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._kill()
            raise WorkerLost(
                ErrorCode.TIMEOUT,
                f"tool {self.where} exceeded its {self.timeout_s:g}s time limit; "
                f"the {self.worker} was stopped",
                {"timeout_s": self.timeout_s},
            )
        if self.cancel.is_set() or self.stopping.is_set():
            self._kill()
            why = (
                "the server is shutting down" if self.stopping.is_set() else "the caller cancelled"
            )
            raise WorkerLost(ErrorCode.CANCELLED, f"call cancelled: {why}")


def _load_result(where: str, body: Any) -> Any:
    try:
        return protocol.load_result(body)
    except protocol.ForbiddenObject as exc:
        failure = Failure(
            ErrorCode.INVALID_OUTPUT.value,
            f"tool {where} returned a result that is not JSON-serialisable: "
            f"it holds a value that is not plain data (needs {exc})",
        )
    except Exception as exc:
        failure = Failure(
            ErrorCode.INVALID_OUTPUT.value,
            f"the result of tool {where} could not be decoded: {type(exc).__name__}",
        )
    raise WorkerFailure(failure)
