"""The common call served without the SDK's per-message machinery.

Most ``/mcp`` traffic is one shape: a 2026-era ``tools/call`` of a plugin tool, answered
as plain JSON. For it the SDK builds a request object, re-parses the body, validates the
envelope twice, spins up a runner, a connection and a dispatch context, and serialises
with the standard library — about 100 µs a call, the bulk of what MCP costs over REST
(bench/mcp_roundtrip.py). This module serves exactly that shape itself, with the SDK's
own checks and serialisers (:func:`classify_inbound_request`, the transport's host and
origin check, :func:`serialize_server_result`, the server-info stamp, the error mapping),
and hands every other message — another method or era, a progress token, a pipeline or
door tool, anything the checks do not pass — to the SDK unchanged. Its answers are the
SDK's, byte for byte in meaning (tested against the SDK's own path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types as types
import orjson
from mcp.server import Server
from mcp.server.runner import modern_error_data
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    classify_inbound_request,
)
from mcp_types.methods import serialize_server_result
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from app.mcp import jsonrpc

#: The handler the fast path calls: the server's own ``tools/call`` (same governed path).
CallTool = Callable[
    [Scope, jsonrpc.RequestId, types.CallToolRequestParams], Awaitable[types.CallToolResult]
]

_PARAMS = frozenset({"name", "arguments", "_meta"})
_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
_JSON = [(b"content-type", b"application/json")]


class FastToolCalls:
    def __init__(
        self,
        server: Server[Any],
        call: CallTool,
        offered: Callable[[str], bool],
        security: TransportSecuritySettings | None,
    ) -> None:
        self._server = server
        self._call = call
        self._offered = offered
        self._security = TransportSecurityMiddleware(security) if security is not None else None

    async def serve(
        self, message: jsonrpc.Message, body: bytes, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Answer ``message`` if it is the common shape; False (nothing sent) otherwise."""
        params = message.params or {}
        name = params.get("name")
        if (
            message.id is None
            or message.wants_progress
            or not isinstance(name, str)
            or not _PARAMS.issuperset(params)
            or not isinstance(params.get("arguments", {}), dict)
            or not self._offered(name)
        ):
            return False
        headers = _headers(scope)
        if headers is None:
            return False
        version = headers.get("mcp-protocol-version")
        accept = headers.get("accept", "")
        if (
            version not in MODERN_PROTOCOL_VERSIONS
            or "application/json" not in accept
            or not headers.get("content-type", "").startswith("application/json")
        ):
            return False
        verdict = classify_inbound_request(
            {"method": message.method, "params": params}, headers=headers
        )
        if isinstance(verdict, InboundLadderRejection):
            return False
        if self._security is not None:
            refused = await self._security.validate_request(Request(scope), is_post=True)
            if refused is not None:
                return False
        try:
            request = types.CallToolRequestParams.model_validate(params, by_name=False)
        except ValueError:
            return False
        try:
            result = await self._call(scope, message.id, request)
            dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
            answer: dict[str, Any] = {
                "result": self._stamped(serialize_server_result("tools/call", version, dumped))
            }
            status = 200
        except Exception as exc:
            error = modern_error_data(exc)
            answer = {"error": error.model_dump(by_alias=True, mode="json", exclude_none=True)}
            status = ERROR_CODE_HTTP_STATUS.get(error.code, 200)
        payload = orjson.dumps({"jsonrpc": "2.0", "id": message.id, **answer})
        headers_out = [*_JSON, (b"content-length", str(len(payload)).encode("ascii"))]
        await send({"type": "http.response.start", "status": status, "headers": headers_out})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
        return True

    def _stamped(self, result: dict[str, Any]) -> dict[str, Any]:
        meta = result.get("_meta")
        if meta is None:
            result["_meta"] = {_SERVER_INFO: self._server.server_info_stamp}
        elif isinstance(meta, dict) and meta.get(_SERVER_INFO) is None:
            result["_meta"] = {**meta, _SERVER_INFO: self._server.server_info_stamp}
        return result


def _headers(scope: Scope) -> dict[str, str] | None:
    """Headers by lowercase name; None when one appears twice or an ``Mcp-Param-*`` header
    is present (the SDK judges those)."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1")
        if name in found or raw_name.startswith(b"mcp-param-"):
            return None
        found[name] = raw_value.decode("latin-1")
    return found
