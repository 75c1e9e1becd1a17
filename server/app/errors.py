"""The error envelope: one vocabulary of failures shared by every door into Visor.

Every failure a client can see is described by an :class:`ErrorType`, a precise
:class:`ErrorCode` and an HTTP status. :func:`build_envelope` is the only function that
builds the envelope; REST, jobs and MCP all expose its ``error`` section unchanged, and the
``_internal`` section (the traceback) only ever goes to the server log.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorType(StrEnum):
    VALIDATION = "ValidationError"
    EXECUTION = "ExecutionError"
    PLUGIN = "PluginError"
    INTERNAL = "InternalError"


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    PLUGIN_NOT_FOUND = "plugin_not_found"
    TOOL_NOT_FOUND = "tool_not_found"
    PLUGIN_UNAVAILABLE = "plugin_unavailable"
    TOOL_ERROR = "tool_error"
    INVALID_OUTPUT = "invalid_output"
    TIMEOUT = "timeout"
    WORKER_CRASHED = "worker_crashed"
    MEMORY_LIMIT = "memory_limit"
    OVERLOADED = "overloaded"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    JOB_NOT_FOUND = "job_not_found"
    JOB_NOT_FINISHED = "job_not_finished"
    JOB_FINISHED = "job_finished"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INTERNAL = "internal"


#: The documented mapping of each code to its type and HTTP status (SPEC §2).
ERROR_TABLE: dict[ErrorCode, tuple[ErrorType, int]] = {
    ErrorCode.INVALID_INPUT: (ErrorType.VALIDATION, 400),
    ErrorCode.PLUGIN_NOT_FOUND: (ErrorType.PLUGIN, 404),
    ErrorCode.TOOL_NOT_FOUND: (ErrorType.PLUGIN, 404),
    ErrorCode.PLUGIN_UNAVAILABLE: (ErrorType.PLUGIN, 503),
    ErrorCode.TOOL_ERROR: (ErrorType.EXECUTION, 500),
    ErrorCode.INVALID_OUTPUT: (ErrorType.VALIDATION, 500),
    ErrorCode.TIMEOUT: (ErrorType.EXECUTION, 504),
    ErrorCode.WORKER_CRASHED: (ErrorType.EXECUTION, 500),
    ErrorCode.MEMORY_LIMIT: (ErrorType.EXECUTION, 500),
    ErrorCode.OVERLOADED: (ErrorType.EXECUTION, 503),
    ErrorCode.CANCELLED: (ErrorType.EXECUTION, 409),
    ErrorCode.INTERRUPTED: (ErrorType.EXECUTION, 500),
    ErrorCode.NOT_FOUND: (ErrorType.VALIDATION, 404),
    ErrorCode.METHOD_NOT_ALLOWED: (ErrorType.VALIDATION, 405),
    ErrorCode.CONFLICT: (ErrorType.VALIDATION, 409),
    # Jobs: the caller named a job that is not there, or asked for what its state forbids.
    ErrorCode.JOB_NOT_FOUND: (ErrorType.VALIDATION, 404),
    ErrorCode.JOB_NOT_FINISHED: (ErrorType.VALIDATION, 409),
    ErrorCode.JOB_FINISHED: (ErrorType.VALIDATION, 409),
    ErrorCode.UNAUTHORIZED: (ErrorType.VALIDATION, 401),
    ErrorCode.FORBIDDEN: (ErrorType.VALIDATION, 403),
    # Refusals of the request itself (no or wrong key, scope, quota): nothing ran, the
    # caller must change the request or wait, so they are ValidationErrors.
    ErrorCode.RATE_LIMITED: (ErrorType.VALIDATION, 429),
    ErrorCode.PAYLOAD_TOO_LARGE: (ErrorType.VALIDATION, 413),
    ErrorCode.INTERNAL: (ErrorType.INTERNAL, 500),
}

#: Seconds a client should wait before retrying an ``overloaded`` call.
DEFAULT_RETRY_AFTER_S = 1


class ErrorInfo(BaseModel):
    """The client-visible ``error`` section of the envelope (one model, used everywhere)."""

    model_config = ConfigDict(extra="forbid")

    type: ErrorType
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    plugin: str | None = None
    timestamp: str = Field(description="ISO-8601 UTC time the error was built.")


class ErrorResponse(BaseModel):
    """Body of every HTTP error response: ``{"error": {...}}``."""

    error: ErrorInfo


class VisorError(Exception):
    """A failure with a known place in the error table.

    Raised inside Visor (and by plugin authors through the subclasses in
    :mod:`app.plugins.base`) and turned into an envelope at a boundary.
    """

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        details: dict[str, Any] | None = None,
        plugin: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = dict(details or {})
        self.plugin = plugin
        self.headers = dict(headers or {})

    @property
    def type(self) -> ErrorType:
        return ERROR_TABLE[self.code][0]

    @property
    def http_status(self) -> int:
        return ERROR_TABLE[self.code][1]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def build_envelope(
    code: ErrorCode,
    message: str,
    *,
    details: dict[str, Any] | None = None,
    plugin: str | None = None,
    exc: BaseException | None = None,
) -> dict[str, Any]:
    """Build the one error envelope shape; ``details.code`` always names the precise reason."""
    error_type, _ = ERROR_TABLE[code]
    merged: dict[str, Any] = dict(details or {})
    merged["code"] = code.value
    tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
    return {
        "error": {
            "type": error_type.value,
            "message": message,
            "details": merged,
            "plugin": plugin,
            "timestamp": utc_now_iso(),
        },
        "_internal": {"traceback": tb},
    }


def envelope_from_exception(exc: VisorError, *, plugin: str | None = None) -> dict[str, Any]:
    return build_envelope(
        exc.code,
        exc.message,
        details=exc.details,
        plugin=exc.plugin if exc.plugin is not None else plugin,
        exc=exc,
    )


def public_error(envelope: dict[str, Any]) -> dict[str, Any]:
    """The part of an envelope that may leave the server: ``{"error": {...}}``."""
    return {"error": envelope["error"]}


def http_status_for(envelope: dict[str, Any]) -> int:
    code = envelope["error"]["details"].get("code", ErrorCode.INTERNAL.value)
    try:
        return ERROR_TABLE[ErrorCode(code)][1]
    except ValueError:
        return 500
