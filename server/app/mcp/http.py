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

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.api.responses import FastJSONResponse
from app.auth.exposure import is_loopback
from app.errors import ErrorCode, build_envelope, public_error

_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def transport_security(
    host: str, allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings | None:
    """The SDK's Host check when bound to loopback (DNS rebinding). Origins are checked for
    every door, whatever the host, by :class:`app.auth.origins.OriginPolicy`; the SDK's own
    origin list here is the same allowlist (plus loopback pages, which on a loopback-bound
    server are same-origin)."""
    if not is_loopback(host):
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"],
        allowed_origins=[*_LOOPBACK_ORIGINS, *allowed_origins],
    )


class McpEndpoint:
    """ASGI app for ``/mcp``; serves only while :meth:`running` is active.

    A call that asked for progress (its body carries a ``progressToken``) is answered as an
    SSE stream so notifications can precede the result; everything else gets a plain JSON
    response, which skips the stream machinery (the transport lets the server choose per
    request). Two SDK session managers, one per response style, share the one server.
    """

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
        self._json: StreamableHTTPSessionManager | None = None
        self._sse: StreamableHTTPSessionManager | None = None

    def _manager(self, *, json_response: bool) -> StreamableHTTPSessionManager:
        return StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=json_response,
            security_settings=self._security,
            max_request_body_size=self._max_body_bytes,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        json_manager, sse_manager = (
            self._manager(json_response=True),
            self._manager(json_response=False),
        )
        async with json_manager.run(), sse_manager.run():
            self._json, self._sse = json_manager, sse_manager
            try:
                yield
            finally:
                self._json = self._sse = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "GET":
            # Stateless: there is no session a standalone stream could serve, and an open GET
            # would hold a connection forever. 405 is the spec's way to say so.
            await Response(status_code=405, headers={"Allow": "POST, DELETE"})(scope, receive, send)
            return
        json_manager, sse_manager = self._json, self._sse
        if json_manager is None or sse_manager is None:
            envelope = build_envelope(ErrorCode.OVERLOADED, "the MCP endpoint is not running")
            response = FastJSONResponse(public_error(envelope), status_code=503)
            await response(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await sse_manager.handle_request(scope, receive, send)
            return
        body, replay = await _buffered(receive)
        manager = sse_manager if _PROGRESS_TOKEN in body else json_manager
        await manager.handle_request(scope, replay, send)


_PROGRESS_TOKEN = b'"progressToken"'


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and a ``receive`` that hands it out again.

    Body size is already capped by the app's request middleware.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # disconnect: let the transport see it
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
