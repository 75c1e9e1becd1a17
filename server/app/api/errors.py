"""The API boundary's one exception handler: every error leaves as ``{"error": {...}}``.

Envelopes from ToolRunner pass through unchanged (minus ``_internal``, which is logged);
framework errors (unknown route, malformed body) and Visor bugs are mapped onto the same
table, so clients parse exactly one error shape.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match

from app.errors import (
    DEFAULT_RETRY_AFTER_S,
    ErrorCode,
    VisorError,
    build_envelope,
    envelope_from_exception,
    http_status_for,
    public_error,
)
from app.responses import FastJSONResponse

log = logging.getLogger("visor.api")

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

_HTTP_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_INPUT,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
    422: ErrorCode.INVALID_INPUT,
    503: ErrorCode.OVERLOADED,
}


#: Codes whose responses tell the client when to retry (``Retry-After``).
_RETRY_CODES = frozenset({ErrorCode.OVERLOADED.value, ErrorCode.RATE_LIMITED.value})


class EnvelopeError(Exception):
    """Carries a ready envelope (from ToolRunner or a job) to the exception handler."""

    def __init__(self, envelope: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(envelope["error"]["message"])
        self.envelope = envelope
        self.headers = dict(headers or {})


def envelope_response(envelope: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    status = http_status_for(envelope)
    all_headers = dict(headers or {})
    if envelope["error"]["details"].get("code") in _RETRY_CODES:
        retry = envelope["error"]["details"].get("retry_after_s", DEFAULT_RETRY_AFTER_S)
        all_headers.setdefault("Retry-After", str(max(1, round(float(retry)))))
    body = public_error(envelope)
    try:
        return FastJSONResponse(body, status_code=status, headers=all_headers)
    except TypeError:  # a client's lone surrogate echoed in a message: not encodable
        return FastJSONResponse(_encodable(body), status_code=status, headers=all_headers)


def _encodable(value: Any) -> Any:
    """``value`` with every string made valid UTF-8 (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route
    that matched the path, so ``GET`` and ``DELETE`` of one path went missing)."""
    methods = {"OPTIONS"}
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return sorted(methods)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def _to_envelope(request: Request, exc: Exception) -> tuple[dict[str, Any], dict[str, str]]:
    if isinstance(exc, EnvelopeError):
        return exc.envelope, exc.headers
    if isinstance(exc, VisorError):
        return envelope_from_exception(exc), exc.headers
    if isinstance(exc, RequestValidationError):
        problems = [
            {"path": "/" + "/".join(str(p) for p in err.get("loc", ())), "message": err.get("msg")}
            for err in exc.errors()
        ]
        first = problems[0] if problems else {"path": "/", "message": "invalid request"}
        return (
            build_envelope(
                ErrorCode.INVALID_INPUT,
                f"invalid request: {first['message']} at {first['path']}",
                details={"errors": problems},
            ),
            {},
        )
    if isinstance(exc, StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, ErrorCode.INTERNAL)
        message = str(exc.detail) if exc.detail else "request failed"
        headers = dict(exc.headers or {})
        details: dict[str, Any] = {"status": exc.status_code}
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
            details["allowed"] = allowed
        elif limit := getattr(exc, "limit", None):
            details["limit_bytes"] = limit
            if setting := getattr(exc, "setting", None):
                details["setting"] = setting
        envelope = build_envelope(code, message, details=details)
        return envelope, headers
    return build_envelope(ErrorCode.INTERNAL, "internal error", exc=exc), {}


async def handle_api_error(request: Request, exc: Exception) -> Response:
    if (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == 405
        and request.method == "OPTIONS"
    ):  # the route exists: say which methods it takes
        return Response(status_code=204, headers={"Allow": ", ".join(allowed_methods(request))})
    envelope, headers = _to_envelope(request, exc)
    traceback = envelope.get("_internal", {}).get("traceback")
    if envelope["error"]["type"] == "InternalError":
        log.error("request %s failed: %s\n%s", _request_id(request), exc, traceback or "")
    if _browser_page_not_found(request, exc):
        return _not_found_page(request)
    return envelope_response(envelope, headers)


def _browser_page_not_found(request: Request, exc: Exception) -> bool:
    """A browser that followed a wrong link (it asks for HTML, no route matched): it gets
    a page with a way to the dashboard. Programs (no ``text/html`` in Accept) get JSON."""
    return (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == 404
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
    )


def _not_found_page(request: Request) -> Response:
    home = html.escape(str(request.scope.get("root_path", "")).rstrip("/") + "/", quote=True)
    path = html.escape(request.url.path)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found · Visor'
        '</title></head><body style="font:16px system-ui,sans-serif;margin:48px">'
        f"<h1>Not found</h1><p>Nothing is at <code>{path}</code> on this Visor server.</p>"
        f'<p><a href="{home}">Go to the dashboard</a> &middot; <a href="{home}docs">API docs'
        "</a></p></body></html>"
    )
    return HTMLResponse(
        page,
        status_code=404,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


def install_error_handlers(app: FastAPI) -> None:
    for exc_type in (
        EnvelopeError,
        VisorError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(exc_type, handle_api_error)
