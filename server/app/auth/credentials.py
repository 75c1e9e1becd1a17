"""Where a request's credentials come from: one small function, so other sources (the
dashboard's session cookie) can join it without touching the middleware."""

from __future__ import annotations

from starlette.types import Scope

_AUTHORIZATION = b"authorization"
_X_API_KEY = b"x-api-key"


def presented_key(scope: Scope) -> str | None:
    """The API key the request carries: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == _X_API_KEY and value.strip():
            return value.decode("latin-1").strip()
    return None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"
