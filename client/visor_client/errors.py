"""One exception hierarchy for everything a Visor call can fail with.

Every server failure arrives as the error envelope ``{"error": {type, message, details,
plugin, timestamp}}``; :func:`error_from_envelope` turns it into the subclass for its
``details.code``, so callers catch what they mean (``except PluginNotFound``) or everything
(``except VisorError``) and still read the server's own words. Transport failures (no
server, no answer in time) are :class:`VisorConnectionError` / :class:`VisorTimeout`.
"""

from __future__ import annotations

from typing import Any


class VisorError(Exception):
    """A Visor failure: the envelope's ``code``, ``message``, ``details`` and the HTTP status.

    ``envelope`` is the whole ``{"error": {...}}`` as the server sent it (empty for a
    failure the client saw itself, e.g. a dropped connection).
    """

    #: The ``details.code`` this class stands for (``None``: any).
    code_name: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        type: str | None = None,
        plugin: str | None = None,
        envelope: dict[str, Any] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code_name or "unknown"
        self.details = dict(details or {})
        self.status = status
        self.type = type
        self.plugin = plugin
        self.envelope = dict(envelope or {})
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        status = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{self.message} ({status}{self.code})"


class InvalidInput(VisorError):
    """400 ``invalid_input``: the request or image is wrong; ``details.errors`` says where."""

    code_name = "invalid_input"


class Unauthorized(VisorError):
    """401: no API key, or a wrong, revoked or expired one."""

    code_name = "unauthorized"


class Forbidden(VisorError):
    """403: the key's scope is below what the call needs."""

    code_name = "forbidden"


class NotFound(VisorError):
    """404: no such plugin, tool, job, file, pipeline or key (``code`` says which)."""

    code_name = "not_found"


class PluginNotFound(NotFound):
    code_name = "plugin_not_found"


class ToolNotFound(NotFound):
    code_name = "tool_not_found"


class JobNotFound(NotFound):
    code_name = "job_not_found"


class Conflict(VisorError):
    """409: the state forbids it (job not finished / already finished, a name in use, an
    Idempotency-Key reused with another request)."""

    code_name = "conflict"


class JobNotFinished(Conflict):
    code_name = "job_not_finished"


class JobFinished(Conflict):
    code_name = "job_finished"


class Cancelled(Conflict):
    code_name = "cancelled"


class PayloadTooLarge(VisorError):
    code_name = "payload_too_large"


class RateLimited(VisorError):
    """429: over the key's quota; ``retry_after_s`` is the server's ``Retry-After``."""

    code_name = "rate_limited"


class Overloaded(VisorError):
    """503: the server refused the call for now; ``retry_after_s`` says when to retry."""

    code_name = "overloaded"


class PluginUnavailable(VisorError):
    code_name = "plugin_unavailable"


class ToolFailed(VisorError):
    """The tool ran and failed: it raised, broke its output schema, crashed its worker."""

    code_name = "tool_error"


class ToolTimeout(VisorError):
    """504: the tool exceeded its time limit on the server."""

    code_name = "timeout"


class InternalError(VisorError):
    code_name = "internal"


class VisorConnectionError(VisorError):
    """The server could not be reached, or dropped the connection."""

    code_name = "connection_failed"


class VisorTimeout(VisorError):
    """No answer within the client's own timeout (not the tool's: that is ToolTimeout)."""

    code_name = "client_timeout"


_BY_CODE: dict[str, type[VisorError]] = {
    cls.code_name: cls
    for cls in (
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        PluginNotFound,
        ToolNotFound,
        JobNotFound,
        Conflict,
        JobNotFinished,
        JobFinished,
        Cancelled,
        PayloadTooLarge,
        RateLimited,
        Overloaded,
        PluginUnavailable,
        ToolTimeout,
        InternalError,
    )
    if cls.code_name is not None
}
_TOOL_FAILURES = frozenset({"tool_error", "invalid_output", "worker_crashed", "memory_limit"})


def error_class(code: str, status: int | None = None) -> type[VisorError]:
    """The exception class for ``details.code`` (by HTTP status for a code it does not know)."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code in _TOOL_FAILURES:
        return ToolFailed
    fallback = {400: InvalidInput, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}
    return fallback.get(status or 0, VisorError)


def error_from_envelope(
    envelope: dict[str, Any], status: int | None = None, retry_after_s: float | None = None
) -> VisorError:
    """The exception for an envelope ``{"error": {...}}`` (a job's ``error`` section too)."""
    error = envelope.get("error", envelope)
    details = error.get("details") or {}
    code = str(details.get("code") or "unknown")
    if retry_after_s is None and isinstance(details.get("retry_after_s"), int | float):
        retry_after_s = float(details["retry_after_s"])
    return error_class(code, status)(
        str(error.get("message") or code),
        code=code,
        details=details,
        status=status,
        type=error.get("type"),
        plugin=error.get("plugin"),
        envelope={"error": error},
        retry_after_s=retry_after_s,
    )
