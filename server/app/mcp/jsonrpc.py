"""JSON-RPC screening at the door of ``/mcp``: one clear answer for a malformed message.

The SDK answers some malformed bodies with pydantic's validation text (input values, error
types, ``errors.pydantic.dev`` links) and a request whose ``id`` is an object with
``202 Accepted`` and no body. :func:`screen` checks the envelope of every POSTed message
before the SDK sees it, so those bodies get a short JSON-RPC error instead; whatever the
SDK still says about a well-formed envelope goes through :func:`redact_error_body`, which
keeps validation internals in the server log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR

log = logging.getLogger("visor.mcp")

RequestId = int | str

CANCELLED = "notifications/cancelled"
TOOLS_CALL = "tools/call"


@dataclass(frozen=True)
class Message:
    """The parts of one well-formed JSON-RPC message Visor looks at."""

    method: str | None
    id: RequestId | None
    params: dict[str, Any] | None

    @property
    def is_notification(self) -> bool:
        return self.method is not None and self.id is None

    @property
    def wants_progress(self) -> bool:
        """The request carries a progress token (so it is answered as an SSE stream)."""
        meta = (self.params or {}).get("_meta")
        return isinstance(meta, dict) and meta.get("progressToken") is not None

    def cancelled_request_id(self) -> RequestId | None:
        """For ``notifications/cancelled``: the id of the request to stop, if well-formed."""
        if self.method != CANCELLED or not self.is_notification:
            return None
        request_id = (self.params or {}).get("requestId")
        return request_id if valid_id(request_id) else None


@dataclass(frozen=True)
class Rejection:
    """A malformed message: answered at once, never handed to the SDK."""

    code: int
    message: str
    id: RequestId | None = None

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": self.id,
                "error": {"code": self.code, "message": self.message},
            }
        )


def valid_id(value: Any) -> bool:
    """MCP request ids are strings or integers (never null, bool, float, array or object)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def screen(body: bytes) -> Message | Rejection:
    """Check one POSTed body's JSON-RPC envelope; the SDK validates the rest."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Rejection(PARSE_ERROR, "Parse error: the body is not valid JSON")
    if not isinstance(decoded, dict):
        return Rejection(
            INVALID_REQUEST, "Invalid request: the body must be one JSON-RPC message object"
        )
    has_id = "id" in decoded
    raw_id = decoded.get("id")
    if has_id and not valid_id(raw_id):
        return Rejection(INVALID_REQUEST, "Invalid request: id must be a string or an integer")
    request_id: RequestId | None = raw_id if has_id else None
    if decoded.get("jsonrpc") != "2.0":
        return Rejection(INVALID_REQUEST, 'Invalid request: jsonrpc must be "2.0"', request_id)
    method = decoded.get("method")
    if method is None:
        if has_id and ("result" in decoded or "error" in decoded):
            return Message(None, request_id, None)  # a response: the SDK ignores it
        return Rejection(INVALID_REQUEST, "Invalid request: method is missing", request_id)
    if not isinstance(method, str) or not method:
        return Rejection(
            INVALID_REQUEST, "Invalid request: method must be a non-empty string", request_id
        )
    params = decoded.get("params")
    if params is not None and not isinstance(params, dict):
        return Rejection(INVALID_PARAMS, "Invalid params: params must be an object", request_id)
    return Message(method, request_id, params)


#: Text that only validation internals produce; a body without any of it is sent as is.
_INTERNALS = (b"errors.pydantic.dev", b"validation error", b"input_value=", b"[type=")
_GENERIC = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid request",
    INVALID_PARAMS: "Invalid request parameters",
}


def redact_error_body(body: bytes) -> bytes | None:
    """``body`` with validation internals removed from JSON-RPC errors, or None if clean.

    Only the ``error`` member of a JSON-RPC error is rewritten (message made generic,
    ``data`` dropped unless it is Visor's own error envelope); results are never touched.
    """
    if not any(marker in body for marker in _INTERNALS):
        return None
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("error"), dict):
        return None
    error: dict[str, Any] = decoded["error"]
    code = error.get("code")
    log.info("MCP error detail withheld from the client: %s", error.get("message"))
    redacted: dict[str, Any] = {
        "code": code,
        "message": _GENERIC.get(code, "Invalid request") if isinstance(code, int) else "Error",
    }
    data = error.get("data")
    if isinstance(data, dict) and set(data) == {"error"}:
        redacted["data"] = data
    return orjson.dumps({**decoded, "error": redacted})
