"""Frames exchanged over one worker's duplex pipe.

Server → worker frames are pickled tuples: the server is trusted and payloads may hold any
Python value a caller passed. Worker → server frames are one tag byte plus a body. Small
control bodies (ready, progress, failures) are JSON. A tool's result is pickled (pickle,
unlike orjson, fails cleanly with MemoryError under the worker's memory limit) and its size
is checked in the worker, before a byte crosses the pipe; the server unpickles it with
:func:`load_result`, which admits plain data only (dicts, lists, strings, numbers, …) and
never imports a class, so a plugin process cannot make the server run code.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from typing import Any

import orjson

# -- server → worker --------------------------------------------------------------------------

CALL = "call"
HEALTH = "health"
STOP = "stop"
BATCH = "batch"  # several calls of one tool at once (dynamic batching)


def encode_call(
    tool: str,
    payload: dict[str, Any],
    timeout_s: float | None,
    *,
    progress: bool = True,
    trace: str | None = None,
    attachments: Any = None,
) -> bytes:
    """A call frame. ``progress`` says whether the caller listens for progress: when nobody
    does, the worker gives the tool a silent context and no progress frame crosses the pipe
    (each would cost a send, a wake-up and a parse on both sides of every call). ``trace``
    is the calling span's W3C ``traceparent`` (None while tracing is off): the worker then
    records the tool's run under it and sends the spans back (a SPANS frame).
    ``attachments`` (decoded frames, :mod:`app.plugins.frames`) ride along when given."""
    command: tuple[Any, ...] = (CALL, tool, payload, timeout_s, progress, trace)
    if attachments:
        command += (attachments,)
    return pickle.dumps(command, protocol=pickle.HIGHEST_PROTOCOL)


def encode_batch(tool: str, items: list[tuple[Any, ...]]) -> bytes:
    """A batch frame: ``(payload, timeout_s[, attachments])`` per call, answered by one
    BATCH_RESULT frame holding each call's own reply frame, in order. Batched calls report
    no progress (and record no spans of their own)."""
    return pickle.dumps((BATCH, tool, items), protocol=pickle.HIGHEST_PROTOCOL)


def encode_command(kind: str) -> bytes:
    return pickle.dumps((kind,), protocol=pickle.HIGHEST_PROTOCOL)


def decode_command(frame: bytes) -> tuple[Any, ...]:
    command = pickle.loads(frame)
    if not isinstance(command, tuple) or not command:
        raise ValueError("malformed command frame")
    return command


# -- worker → server --------------------------------------------------------------------------

READY = ord("Y")  # startup hook done: {"pid": int}
PROGRESS = ord("P")  # [fraction, message]
RESULT = ord("R")  # the tool's result, pickled (plain data only)
ERROR = ord("E")  # a Failure, JSON-encoded
HEALTHY = ord("H")  # {"ok": bool}
SPANS = ord("S")  # the call's finished spans, before its reply (app.tracing.remote)
BATCH_RESULT = ord("B")  # a batch's replies: a pickled list of RESULT / ERROR frames

_MAX_TEXT = 20_000  # failure messages and tracebacks are cut to this many characters


@dataclass(frozen=True)
class Failure:
    """Why a call (or the startup hook) failed inside the worker.

    ``code`` is an :class:`~app.errors.ErrorCode` value; ``recycle`` asks the server to
    replace the worker afterwards (its state may be damaged, e.g. after a MemoryError).
    """

    code: str
    message: str
    exc_type: str = ""
    traceback: str = ""
    details: dict[str, Any] | None = None
    recycle: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message[:_MAX_TEXT],
            "exc_type": self.exc_type[:200],
            "traceback": self.traceback[-_MAX_TEXT:],
            "details": self.details or {},
            "recycle": self.recycle,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Failure:
        return cls(
            code=str(data.get("code", "internal")),
            message=str(data.get("message", "")),
            exc_type=str(data.get("exc_type", "")),
            traceback=str(data.get("traceback", "")),
            details=dict(data.get("details") or {}),
            recycle=bool(data.get("recycle", False)),
        )


def frame(tag: int, body: Any) -> bytes:
    return bytes((tag,)) + orjson.dumps(body)


def failure_frame(failure: Failure) -> bytes:
    return frame(ERROR, failure.to_json())


def encode_result(value: Any) -> bytes:
    """A result frame; raises what pickling raises (TypeError, MemoryError, …)."""
    return bytes((RESULT,)) + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class ForbiddenObject(pickle.UnpicklingError):
    """A result held an object that is not plain data (it would need a class import)."""


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise ForbiddenObject(f"{module}.{name}")


def load_result(body: memoryview) -> Any:
    """Unpickle a result body without importing anything: plain data or ForbiddenObject."""
    return _PlainDataUnpickler(io.BytesIO(body)).load()


def encode_batch_result(replies: list[bytes]) -> bytes:
    return bytes((BATCH_RESULT,)) + pickle.dumps(replies, protocol=pickle.HIGHEST_PROTOCOL)


def split_batch(body: memoryview) -> list[tuple[int, Any]]:
    """Each call's reply in a BATCH_RESULT body, as :func:`split` gives it."""
    replies = load_result(body)
    if not isinstance(replies, list) or not all(isinstance(r, bytes) for r in replies):
        raise ValueError("malformed batch reply")
    return [split(reply) for reply in replies]


def split(data: bytes) -> tuple[int, Any]:
    """Tag and body of a worker frame: decoded JSON, or the raw bytes of a result."""
    if not data:
        raise ValueError("empty frame")
    body = memoryview(data)[1:]
    if data[0] == RESULT or data[0] == BATCH_RESULT:
        return data[0], body
    return data[0], orjson.loads(body)
