"""Pure ASGI middleware: request ids and request-size limits (cheap on the hot path)."""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.responses import FastJSONResponse
from app.errors import ErrorCode, build_envelope, public_error

REQUEST_ID_HEADER = b"x-request-id"


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID`` in and out) and caps its body size."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        declared = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")[:128]
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else None
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.max_body_bytes
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send, request_id)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        envelope = build_envelope(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"request body exceeds {self.max_body_bytes} bytes",
            details={"limit_bytes": self.max_body_bytes},
        )
        response = FastJSONResponse(
            public_error(envelope), status_code=413, headers={"x-request-id": request_id}
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
