"""The door's span: one SERVER span per HTTP request or WebSocket, W3C ``traceparent`` in
and out.

Installed by the app factory only while tracing is on, so an untraced server runs without
it. A caller's ``traceparent`` makes the request's span its child; the response carries
``traceparent`` naming the request's own span, so a caller can find its call's trace.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.tracing import spans as tracing

_PROPAGATOR = TraceContextTextMapPropagator()


class TracingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        method = scope.get("method", "WS") if kind == "http" else "WS"
        state = scope.setdefault("state", {})
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "visor.request_id": str(state.get("request_id", "")),
        }
        with tracing.span(
            f"{method} {scope['path']}", attributes, parent=parent, kind=SpanKind.SERVER
        ) as span:
            assert span is not None  # installed only while tracing is on
            header = _traceparent_of(span)

            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                    headers = list(message.get("headers", []))
                    headers.append((b"traceparent", header))
                    message["headers"] = headers
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None)
                if template:  # the route template names the span (low cardinality)
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)


def _traceparent_of(span: trace.Span) -> bytes:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}".encode()
