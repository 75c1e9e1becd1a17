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

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.exposure import is_loopback
from app.errors import ErrorCode, build_envelope, public_error
from app.mcp import jsonrpc
from app.mcp.cancellation import InFlightCalls, caller_of
from app.mcp.fastpath import FastToolCalls
from app.responses import FastJSONResponse

_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]

#: How long a tools/call runs before its client's disconnect is watched for.
_WATCH_AFTER_S = 0.02


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

    Every POST body is screened first (:mod:`app.mcp.jsonrpc`): a malformed message is
    answered at once, without the SDK. A call that asked for progress (its request carries
    a ``progressToken``) is answered as an SSE stream so notifications can precede the
    result; everything else gets a plain JSON response, which skips the stream machinery
    (the transport lets the server choose per request). Two SDK session managers, one per
    response style, share the one server.

    Cancellation: a ``tools/call`` whose client disconnects, and one named by an accepted
    ``notifications/cancelled`` from the same caller, is stopped through the in-flight table
    (:mod:`app.mcp.cancellation`) — the same cancel flag jobs use, so workers are stopped.
    """

    def __init__(
        self,
        server: Server[Any],
        *,
        max_body_bytes: int,
        security: TransportSecuritySettings | None = None,
        in_flight: InFlightCalls | None = None,
        fast: FastToolCalls | None = None,
    ) -> None:
        self.server = server
        self._fast = fast
        self.in_flight = in_flight if in_flight is not None else InFlightCalls()
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
        body, disconnected = await _read_body(receive)
        if disconnected:
            return
        message = jsonrpc.screen(body)
        if isinstance(message, jsonrpc.Rejection):
            await Response(message.body(), 400, media_type="application/json")(scope, receive, send)
            return
        manager = sse_manager if message.wants_progress else json_manager
        send = _redacting(send)
        if message.method == jsonrpc.TOOLS_CALL and message.id is not None:
            await self._serve_call(manager, message, scope, body, receive, send)
        elif (cancelled := message.cancelled_request_id()) is not None:
            status = await _status_of(manager.handle_request, scope, _replay(body, receive), send)
            if status == 202:  # accepted by the transport's checks (host, origin, version)
                self.in_flight.cancel(caller_of(scope), cancelled)
        else:
            await manager.handle_request(scope, _replay(body, receive), send)

    async def _serve_call(
        self,
        manager: StreamableHTTPSessionManager,
        message: jsonrpc.Message,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
    ) -> None:
        """Serve a ``tools/call`` (the common shape on the fast path, :mod:`.fastpath`;
        the rest through the SDK), stopping its tool if the client goes away meanwhile.

        The SDK does not listen for a disconnect on plain-JSON responses, so this does: it
        owns ``receive`` after the body and hands the SDK the disconnect when it happens.
        """
        request_id = message.id
        assert request_id is not None  # only requests come here
        gone = anyio.Event()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def watch() -> None:
            with contextlib.suppress(Exception):
                while (await receive())["type"] != "http.disconnect":
                    pass
            gone.set()
            self.in_flight.cancel(caller_of(scope), request_id)

        # A bare asyncio task rather than an anyio task group: the watcher only waits, and
        # a task group's cancel scopes cost a tenth of an MCP call's own server time. It
        # starts only once the call has run a moment: most calls are answered before, and
        # a task per call (start, cancel) costs a few percent of a fast call.
        watcher: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()
        timer = loop.call_later(_WATCH_AFTER_S, lambda: watcher.append(loop.create_task(watch())))
        try:
            fast = self._fast
            if fast is None or not await fast.serve(message, body, scope, replay, send):
                await manager.handle_request(scope, replay, send)
        finally:
            timer.cancel()
            for task in watcher:
                task.cancel()


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body (size is capped by the app's middleware), and whether the
    client went away before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out the already-read body, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _status_of(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int | None:
    """Run ``app`` and return the HTTP status it answered with."""
    status: int | None = None

    async def watching(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await app(scope, receive, watching)
    return status


def _redacting(send: Send) -> Send:
    """``send``, with validation internals taken out of JSON-RPC error bodies.

    A JSON response's start is held until its body is seen (one message for the SDK's
    JSON answers); streams pass straight through.
    """
    held: Message | None = None

    async def redacting(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            if (b"content-type", b"application/json") in message.get("headers", ()):
                held = message
                return
            await send(message)
            return
        if held is not None and message["type"] == "http.response.body":
            start, held = held, None
            if not message.get("more_body", False):
                redacted = jsonrpc.redact_error_body(message.get("body", b""))
                if redacted is not None:
                    start = _with_length(start, len(redacted))
                    message = {**message, "body": redacted}
            await send(start)
        await send(message)

    return redacting


def _with_length(start: Message, length: int) -> Message:
    headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(length).encode("ascii")))
    return {**start, "headers": headers}
