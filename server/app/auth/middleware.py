"""AuthMiddleware: the one enforcement point for every door (SPEC §7).

Pure ASGI, in front of the router, so REST, SSE streams, ``/mcp``, ``/metrics``, the docs
and whatever is mounted later all pass it. Per request, in order:

1. a browser ``Origin`` that is not allowed → 403 ``forbidden`` (even on an open server);
2. the route's access level (:mod:`app.auth.policy`); ``public`` routes, and every route
   while authentication is off, go straight through — except that with ``VISOR_AUTH=auto``
   and no key yet, a request that arrived on a non-loopback interface → 403 ``forbidden``
   (``reason: no_keys``), however the server was started;
3. no key → 401 ``unauthorized`` with ``WWW-Authenticate: Bearer`` (every 401 says why a key
   is needed and how to get one: :mod:`app.auth.guidance`);
4. an address that failed too often → 429 ``rate_limited`` (before its key is checked);
5. a wrong, revoked or expired key → 401 (and one more failure for its address);
6. a key below the route's level → 403 ``forbidden``;
7. the key's request rate exhausted → 429 with ``Retry-After``;
8. otherwise the request runs with its :class:`~app.auth.principal.Principal` in
   ``scope["state"]["principal"]`` and in the context variable.

Refusals are error envelopes; the key's secret is never logged (only its public id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from app.auth import guidance, keys
from app.auth.credentials import Credential, client_address, presented
from app.auth.exposure import reached_from_outside
from app.auth.index import Refusal
from app.auth.metrics import RefusalReason
from app.auth.policy import RoutePolicy
from app.auth.principal import _current
from app.auth.quotas import retry_after
from app.auth.scopes import Access
from app.auth.service import AuthService
from app.errors import ERROR_TABLE, ErrorCode, build_envelope, public_error
from app.observability import correlation
from app.responses import FastJSONResponse
from app.tracing import spans as tracing

log = logging.getLogger("visor.auth")

_CHALLENGE = 'Bearer realm="visor"'

#: A door that speaks another protocol renders its refusals itself (``/mcp``: JSON-RPC
#: errors): ``(scope, receive, send, status, error, headers)`` → True when it answered.
RefusalRenderer = Callable[
    [Scope, Receive, Send, int, dict[str, Any], dict[str, str]], Awaitable[bool]
]


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: AuthService,
        router: Router,
        renderers: tuple[RefusalRenderer, ...] = (),
    ) -> None:
        self.app = app
        self.auth = auth
        self._router = router
        self._renderers = renderers
        self._policy: RoutePolicy | None = None
        self._route_count = -1

    @property
    def policy(self) -> RoutePolicy:
        # Built on first use (every route exists by then) and rebuilt if routes are added
        # later, so a late route is never mistaken for an unrouted path.
        routes = self._router.routes
        if self._policy is None or len(routes) != self._route_count:
            self._policy, self._route_count = RoutePolicy(routes), len(routes)
        return self._policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        auth = self.auth
        refused_origin = auth.origins.refuses(scope)
        if refused_origin is not None:
            auth.counters.refusals[RefusalReason.ORIGIN] += 1
            await self._refuse(
                scope, receive, send, ErrorCode.FORBIDDEN,
                f"origin {refused_origin!r} is not allowed (VISOR_ALLOWED_ORIGINS)",
                {"reason": "origin"},
            )  # fmt: skip
            return
        access = self.policy.access_for(
            scope.get("method", "GET"), scope["path"], websocket=kind == "websocket"
        )
        if access is Access.PUBLIC:
            await self.app(scope, receive, send)
            return
        if not auth.enabled:
            if auth.refuses_outsiders() and reached_from_outside(scope.get("server")):
                auth.counters.refusals[RefusalReason.NO_KEYS] += 1
                await self._refuse(
                    scope, receive, send, ErrorCode.FORBIDDEN,
                    "this server has no API keys and answers only this machine: create one "
                    "with 'visor keys create NAME --scope admin', or set VISOR_AUTH=off",
                    {"reason": "no_keys"},
                )  # fmt: skip
                return
            await self.app(scope, receive, send)
            return

        credential = presented(scope)
        if credential is None:
            auth.counters.refusals[RefusalReason.MISSING_KEY] += 1
            await self._unauthorized(
                scope, receive, send, guidance.missing_key(auth.mode), invalid=False
            )
            return
        address = client_address(scope)
        wait = auth.failures.blocked_for(address)
        if wait > 0:
            auth.counters.refusals[RefusalReason.ADDRESS] += 1
            await self._rate_limited(
                scope, receive, send, wait, "too many failed authentications from this address"
            )
            return
        with tracing.span("visor.auth") as span:
            principal = await auth.authenticate(credential)
            if span is not None and not isinstance(principal, Refusal):
                span.set_attribute("visor.key_id", principal.key_id)
        if isinstance(principal, Refusal):
            auth.failures.failed(address)
            auth.counters.refusals[RefusalReason.INVALID_KEY] += 1
            log.info("refused %s from %s: %s", _named(credential), address, principal.value)
            await self._unauthorized(
                scope, receive, send, guidance.bad_key(principal.value), invalid=True
            )
            return
        if not principal.allows(access):
            auth.counters.refusals[RefusalReason.SCOPE] += 1
            await self._refuse(
                scope, receive, send, ErrorCode.FORBIDDEN,
                f"key {principal.key_id} has scope {principal.scope.value}; "
                f"this needs {access.name.lower()}",
                {"scope": principal.scope.value, "required": access.name.lower()},
            )  # fmt: skip
            return
        wait = principal.requests.take()
        if wait > 0:
            auth.counters.refusals[RefusalReason.RATE] += 1
            await self._rate_limited(
                scope, receive, send, wait, f"key {principal.key_id} is over its request rate"
            )
            return
        auth.counters.requests[principal.key_id] += 1
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["credential"] = credential  # long-lived connections re-check it (.lease)
        token = _current.set(principal)
        key_token = correlation.key_id.set(principal.key_id)  # log lines: the key, no secret
        try:
            await self.app(scope, receive, send)
        finally:
            correlation.key_id.reset(key_token)
            _current.reset(token)

    # -- refusals ---------------------------------------------------------------------------

    async def _unauthorized(
        self, scope: Scope, receive: Receive, send: Send, message: str, *, invalid: bool
    ) -> None:
        challenge = _CHALLENGE + (', error="invalid_token"' if invalid else "")
        details = {
            "reason": "invalid_key" if invalid else "missing_key",
            "auth": self.auth.mode.value,
            "hint": guidance.HINT,
        }
        await self._refuse(
            scope, receive, send, ErrorCode.UNAUTHORIZED, message, details,
            {"WWW-Authenticate": challenge},
        )  # fmt: skip

    async def _rate_limited(
        self, scope: Scope, receive: Receive, send: Send, wait_s: float, message: str
    ) -> None:
        seconds = retry_after(wait_s)
        await self._refuse(
            scope, receive, send, ErrorCode.RATE_LIMITED, message,
            {"retry_after_s": seconds}, {"Retry-After": str(seconds)},
        )  # fmt: skip

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        code: ErrorCode,
        message: str,
        details: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await WebSocketClose(code=1008, reason=message[:120])(scope, receive, send)
            return
        envelope = build_envelope(code, message, details=details)
        status, error = ERROR_TABLE[code][1], public_error(envelope)
        for render in self._renderers:
            if await render(scope, receive, send, status, error, dict(headers or {})):
                return
        response = FastJSONResponse(error, status_code=status, headers=headers)
        await response(scope, receive, send)


def _named(credential: Credential) -> str:
    """How a log line names a refused credential: a key by its public id, never a secret."""
    if credential.session:
        return "a dashboard session"
    return f"key {keys.key_id_of(credential.secret) or '(malformed)'}"
