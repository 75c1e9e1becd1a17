"""The dashboard's API-key session: ``/ui/session`` (GET who am I, POST sign in, DELETE out).

Signing in trades a typed API key for two cookies: a session token (:mod:`app.auth.sessions`:
never the key itself; a server-side session that ends at sign-out, when its key is revoked
or expires, or after ``SESSION_MAX_AGE_S``), httpOnly (scripts never see it), and its CSRF
token, readable by the page's scripts, which send it back as ``X-CSRF-Token`` on every
state-changing request. Both are ``SameSite=Strict``. The auth middleware accepts the
cookie as a credential (``app.auth.credentials``); the key's scope is enforced there
exactly as for a header key, so a ``read`` key sees but cannot run. Only an API key signs
in: a session token pasted as a key is refused, so a stolen cookie cannot mint sessions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.auth import guidance
from app.auth.credentials import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    client_address,
    csrf_token,
    presented,
    session_cookie,
)
from app.auth.index import Refusal
from app.auth.principal import Principal
from app.auth.service import AuthService
from app.dashboard.paths import PREFIX
from app.errors import ErrorCode, VisorError
from app.responses import FastJSONResponse

#: Sessions last as long as the browser's; this caps a forgotten tab (seconds).
SESSION_MAX_AGE_S = 12 * 3600


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=512, description="An API key.")


class SessionInfo(BaseModel):
    enabled: bool = Field(description="The server requires API keys.")
    authenticated: bool
    via_cookie: bool = Field(description="The key comes from the dashboard's session cookie.")
    scope: str | None = None
    key_id: str | None = None
    key_name: str | None = None


def _info(auth: AuthService, principal: Principal | None, via_cookie: bool) -> SessionInfo:
    return SessionInfo(
        enabled=auth.enabled,
        authenticated=principal is not None,
        via_cookie=via_cookie and principal is not None,
        scope=principal.scope.value if principal else None,
        key_id=principal.key_id if principal else None,
        key_name=principal.name if principal else None,
    )


def build_router() -> APIRouter:
    router = APIRouter(prefix=f"{PREFIX}/session", include_in_schema=False)

    @router.get("", response_model=SessionInfo)
    async def who_am_i(request: Request) -> Response:
        auth: AuthService = request.app.state.auth
        credential = presented(request.scope)
        found = await auth.authenticate(credential) if credential else None
        principal = found if isinstance(found, Principal) else None
        via_cookie = credential is not None and credential.session
        return FastJSONResponse(_info(auth, principal, via_cookie).model_dump())

    @router.post("", response_model=SessionInfo)
    async def sign_in(body: SignIn, request: Request) -> Response:
        auth: AuthService = request.app.state.auth
        address = client_address(request.scope)
        wait = auth.failures.blocked_for(address)
        if wait > 0:
            raise VisorError(
                "too many failed authentications from this address",
                code=ErrorCode.RATE_LIMITED,
                details={"retry_after_s": wait},
            )
        opened = await run_in_threadpool(auth.index.open_session, body.key, SESSION_MAX_AGE_S)
        if isinstance(opened, Refusal):
            auth.failures.failed(address)
            raise VisorError(
                guidance.bad_key(opened.value),
                code=ErrorCode.UNAUTHORIZED,
                details={"reason": "invalid_key", "hint": guidance.HINT},
            )
        principal, token = opened
        response = FastJSONResponse(_info(auth, principal, via_cookie=True).model_dump())
        secure = request.url.scheme == "https"
        response.set_cookie(
            SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, path="/",
            httponly=True, samesite="strict", secure=secure,
        )  # fmt: skip
        response.set_cookie(
            CSRF_COOKIE, csrf_token(token), max_age=SESSION_MAX_AGE_S, path="/",
            httponly=False, samesite="strict", secure=secure,
        )  # fmt: skip
        return response

    @router.delete("", response_model=SessionInfo)
    async def sign_out(request: Request) -> Response:
        """Ends the session on the server (its cookie is no credential from now on, even if
        a copy of it was kept), then deletes the cookies."""
        auth: AuthService = request.app.state.auth
        token = session_cookie(request.scope)
        if token:
            await run_in_threadpool(auth.index.end_session, token)
        response = FastJSONResponse(_info(auth, None, via_cookie=False).model_dump())
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict")
        return response

    return router
