"""Where a request's credentials come from: one small function, so other sources (the
dashboard's session cookie) can join it without touching the middleware. It answers a
:class:`Credential` that says which kind it is: a session token counts only where it came
from the cookie, an API key only from a header, so neither can stand in for the other.

Sources, in order: ``Authorization: Bearer KEY``, ``X-API-Key: KEY``, then the dashboard's
session cookie. The cookie (httpOnly, ``SameSite=Strict``, set by ``POST /ui/session``)
holds a session token (:mod:`app.auth.sessions`), never the key; a browser sends it by
itself, so for state-changing methods it counts only with the CSRF header: ``X-CSRF-Token``
equal to :func:`csrf_token` of that token. It is an HMAC of the session token, so a page
that cannot read the cookie cannot make one. A cookie
without a valid token is no credential at all (401).

A WebSocket handshake (the dashboard's live camera: browsers cannot set headers on one)
may use the cookie only when it carries an ``Origin``, which browsers always send there. The
middleware has refused every ``Origin`` that is neither the server's own nor listed in
``VISOR_ALLOWED_ORIGINS`` before it asks for the key, so a page on another site cannot ride
the cookie (cross-site WebSocket hijacking); a handshake without ``Origin`` is no browser,
and must bring its key in a header.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import cookie_parser
from starlette.types import Scope

_AUTHORIZATION = b"authorization"
_X_API_KEY = b"x-api-key"
_COOKIE = b"cookie"
_CSRF_HEADER = b"x-csrf-token"
_ORIGIN = b"origin"

SESSION_COOKIE = "visor_session"
CSRF_COOKIE = "visor_csrf"
CSRF_HEADER = "X-CSRF-Token"
#: Methods a cookie alone may authenticate: they change nothing.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Credential:
    """What a request presented: an API key (from a header) or a dashboard session token
    (from the session cookie)."""

    secret: str
    session: bool = False

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"Credential(session={self.session})"


def presented(scope: Scope) -> Credential | None:
    """The credential the request carries: a header key, else a valid session cookie."""
    cookies: bytes | None = None
    csrf: bytes | None = None
    header_key: str | None = None
    origin = False
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return Credential(token.strip())  # first of the sources, wherever it stands
        elif name == _X_API_KEY and value.strip() and header_key is None:
            header_key = value.decode("latin-1").strip()
        elif name == _COOKIE:
            cookies = value
        elif name == _CSRF_HEADER:
            csrf = value
        elif name == _ORIGIN:
            origin = True
    if header_key is not None:
        return Credential(header_key)
    if cookies is None:
        return None
    if scope["type"] == "websocket":
        # Only a browser's handshake, whose Origin the middleware already checked.
        token = _cookie_key(cookies) if origin else None
    elif scope["type"] == "http":
        token = _session_key(scope, cookies, csrf)
    else:
        token = None
    return Credential(token, session=True) if token else None


def session_cookie(scope: Scope) -> str | None:
    """The session token in the cookie, whatever the method (for signing out)."""
    for name, value in scope["headers"]:
        if name == _COOKIE:
            return _cookie_key(value)
    return None


def _cookie_key(cookies: bytes) -> str | None:
    return cookie_parser(cookies.decode("latin-1")).get(SESSION_COOKIE) or None


def _session_key(scope: Scope, cookies: bytes, csrf: bytes | None) -> str | None:
    key = _cookie_key(cookies)
    if not key:
        return None
    if scope.get("method", "GET") in SAFE_METHODS:
        return key
    if csrf is None or not hmac.compare_digest(csrf, csrf_token(key).encode()):
        return None
    return key


def csrf_token(key: str) -> str:
    """The CSRF token that pairs with a session key (sent back by the page as a header)."""
    return hmac.new(key.encode(), b"visor dashboard csrf", hashlib.sha256).hexdigest()


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"
