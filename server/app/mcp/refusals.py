"""Refusals on ``/mcp`` as JSON-RPC errors, so every MCP client can read them.

The auth middleware refuses before any route runs (401 no or bad key, 403 origin or
scope, 429 over a rate). Its REST envelope is a body MCP clients do not expect: the
Python SDK and fastmcp showed ``-32603 "Server returned an error response"``, losing the
reason and the wait. On ``/mcp`` the same refusal is a JSON-RPC error — the request's
``id`` (when the body is small enough to read it), a code per status, the reason as the
message, the envelope and ``retry_after_s`` as ``data`` — at the HTTP status the
authorization spec requires, with the middleware's headers (``WWW-Authenticate``,
``Retry-After``). Clients that surface a non-2xx JSON-RPC body (the Python SDK 2.x) show
it as an ``MCPError``; the others print the body with the status.

A 401 also says, in its ``WWW-Authenticate`` challenge, that the credential is an API
key, so OAuth-first hosts do not start client registration (docs/mcp.md, "Refusals").
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from app.mcp.jsonrpc import valid_id
from app.responses import FastJSONResponse

#: JSON-RPC codes for refusals (implementation-defined server errors, -32000..-32099).
UNAUTHORIZED, FORBIDDEN, RATE_LIMITED = -32001, -32003, -32029
_CODES = {401: UNAUTHORIZED, 403: FORBIDDEN, 429: RATE_LIMITED}

#: Enough of a body to find a JSON-RPC request's id; a longer body is answered with id null.
_ID_READ_BYTES = 64 * 1024

_PATHS = frozenset({"/mcp", "/mcp/"})

#: What a 401 on /mcp tells a client: an API key, not OAuth.
API_KEY_CHALLENGE = (
    'Bearer realm="visor", error="invalid_token", error_description="this server takes '
    'an API key (Authorization: Bearer <key> or X-API-Key), not OAuth"'
)


async def render_refusal(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    error: dict[str, Any],
    headers: dict[str, str],
) -> bool:
    """Answer a refusal of ``/mcp`` as a JSON-RPC error; False for any other path."""
    if scope["type"] != "http" or scope.get("path") not in _PATHS or status not in _CODES:
        return False
    request_id = await _request_id(receive) if scope.get("method") == "POST" else None
    envelope = error["error"]
    details = envelope.get("details", {})
    data: dict[str, Any] = {"http_status": status, **error}
    for key in ("retry_after_s", "required", "reason"):
        if key in details:
            data[key] = details[key]
    if status == 401:
        headers = {**headers, "WWW-Authenticate": API_KEY_CHALLENGE}
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": _CODES[status], "message": envelope["message"], "data": data},
    }
    await FastJSONResponse(body, status_code=status, headers=headers)(scope, receive, send)
    return True


async def _request_id(receive: Receive) -> int | str | None:
    """The id of the JSON-RPC request in the body, if the body is short and well-formed."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > _ID_READ_BYTES:
            return None
        if not message.get("more_body", False):
            break
    try:
        decoded = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        return None
    request_id = decoded.get("id") if isinstance(decoded, dict) else None
    return request_id if valid_id(request_id) else None
