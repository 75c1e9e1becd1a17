"""Pure ASGI middleware: request ids, request-size limits and a budget for bodies in flight.

Cheap on the hot path: a header scan and two integer updates per request.

- A body over ``max_body_bytes`` is refused with 413 ``payload_too_large`` — before reading
  when ``Content-Length`` says so, or as soon as a chunked body crosses the limit. The
  refusal is a Starlette ``HTTPException``, so it surfaces as 413 whether the route or
  FastAPI's own body parsing was reading (FastAPI turns other read errors into 400s).
- All bodies being handled at once may hold at most ``max_in_flight_bytes``: a request whose
  declared body does not fit is answered 503 ``overloaded`` with ``Retry-After`` before a
  byte of it is read; a chunked body is counted as it arrives. A request's share is given
  back when its response is done, since that is when its body's memory is freed. The budget
  is shared (:mod:`app.body_budget`): an image the request's call downloads and live-stream
  frames count in it too.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.body_budget import BodyBudget
from app.errors import DEFAULT_RETRY_AFTER_S, ErrorCode, build_envelope, public_error
from app.observability import correlation
from app.responses import FastJSONResponse
from app.units import human_bytes

REQUEST_ID_HEADER = b"x-request-id"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, setting: str = "VISOR_MAX_REQUEST_BYTES") -> None:
        super().__init__(413, f"request body exceeds {human_bytes(limit)} ({setting})")
        self.limit = limit
        self.setting = setting


class BodiesInFlight(HTTPException):
    """The server holds as many request bodies as it may: come back shortly."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            503,
            f"the server is receiving {human_bytes(limit)} of request bodies already "
            "(VISOR_MAX_BODIES_IN_FLIGHT_BYTES); retry shortly",
            headers={"Retry-After": str(DEFAULT_RETRY_AFTER_S)},
        )
        self.limit = limit


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID`` in and out) and bounds body memory."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        budget: BodyBudget,
        spooled_paths: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Upload routes whose multipart parts are spooled to disk: their own (larger) body
        # limit (and the setting that sets it), and not counted in flight (their bodies do
        # not stay in memory).
        self.spooled_paths = dict(spooled_paths or {})
        self.budget = budget
        self.max_in_flight_bytes = budget.limit_bytes

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
        request_id = _printable(request_id) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit, setting = self.max_body_bytes, "VISOR_MAX_REQUEST_BYTES"
        spooled = self.spooled_paths.get(scope["path"])
        if spooled is not None:
            limit, setting = spooled
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, request_id, BodyTooLarge(limit, setting))
            return
        with self.budget.share() as share:
            held = (declared or 0) if spooled is None else 0
            if not share.take(held):
                await self._refuse(
                    scope, receive, send, request_id, BodiesInFlight(self.max_in_flight_bytes)
                )
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received, held
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge(limit, setting)
                    if received > held and spooled is None:  # chunked body: count as it comes
                        if not share.take(received - held):
                            raise BodiesInFlight(self.max_in_flight_bytes)
                        held = received
                return message

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                    message["headers"] = headers
                await send(message)

            token = correlation.request_id.set(request_id)  # for log lines (JSON format)
            try:
                await self.app(scope, limited_receive, send_with_id)
            except (BodyTooLarge, BodiesInFlight) as exc:
                await self._refuse(scope, receive, send, request_id, exc)
            finally:
                correlation.request_id.reset(token)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        exc: BodyTooLarge | BodiesInFlight,
    ) -> None:
        if isinstance(exc, BodyTooLarge):
            code = ErrorCode.PAYLOAD_TOO_LARGE
            details: dict[str, Any] = {"limit_bytes": exc.limit, "setting": exc.setting}
        else:
            code = ErrorCode.OVERLOADED
            details = {"limit_bytes": exc.limit, "retry_after_s": DEFAULT_RETRY_AFTER_S}
        envelope = build_envelope(code, str(exc.detail), details=details)
        headers = {"x-request-id": request_id, **(exc.headers or {})}
        response = FastJSONResponse(
            public_error(envelope), status_code=exc.status_code, headers=headers
        )
        await response(scope, receive, send)


def _printable(text: str) -> str:
    """A client's request id, without characters that could forge log lines or headers."""
    return "".join(ch for ch in text if ch.isprintable())
