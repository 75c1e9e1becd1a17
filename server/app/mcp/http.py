"""``/mcp``: the MCP server on the SDK's streamable HTTP transport, stateless.

Stateless means no ``Mcp-Session-Id`` and no per-session memory, so any replica behind a
load balancer can answer any request. The endpoint is a plain ASGI route inside the Visor
app, so app-level middleware (request ids, body limits, API keys once they exist) covers
``/mcp`` exactly as it covers ``/v1``.

The SDK's session manager can run only once, while an app's lifespan may run several
times (tests re-enter it), so :meth:`McpEndpoint.running` builds a fresh manager per
lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.api.responses import FastJSONResponse
from app.errors import ErrorCode, build_envelope, public_error

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection when bound to loopback (where browsers are the threat)."""
    if host not in _LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpEndpoint:
    """ASGI app for ``/mcp``; serves only while :meth:`running` is active."""

    def __init__(
        self,
        server: Server[Any],
        *,
        max_body_bytes: int,
        security: TransportSecuritySettings | None = None,
    ) -> None:
        self.server = server
        self._max_body_bytes = max_body_bytes
        self._security = security
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        manager = StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=False,  # SSE responses, so progress can stream before the result
            security_settings=self._security,
            max_request_body_size=self._max_body_bytes,
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "GET":
            # Stateless: there is no session a standalone stream could serve, and an open GET
            # would hold a connection forever. 405 is the spec's way to say so.
            await Response(status_code=405, headers={"Allow": "POST, DELETE"})(scope, receive, send)
            return
        manager = self._manager
        if manager is None:
            envelope = build_envelope(ErrorCode.OVERLOADED, "the MCP endpoint is not running")
            response = FastJSONResponse(public_error(envelope), status_code=503)
            await response(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)
