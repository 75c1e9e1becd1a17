"""Leases: how a long-lived connection keeps answering to the credential that opened it.

The middleware checks a credential once per request. A WebSocket stream or an SSE job
stream is one request that lasts: without a second look, a key revoked (or expired, or a
dashboard session signed out) after the handshake would keep running tools or reading
events. Such a connection takes a :class:`Lease` (:func:`lease_of`) and

- awaits :meth:`Lease.lost`, which re-checks the credential every ``recheck_s`` (at most
  a second) against the same in-memory key index the middleware uses, and returns why it
  stopped authenticating; the connection then ends (a WebSocket closes with 1008 and the
  reason, an SSE stream sends a final ``error`` event);
- calls :meth:`Lease.admit_call` before each tool call it makes on the caller's behalf (a
  stream frame): the same check, plus one token from the key's request rate, since each
  such call is a request that did not pass the middleware.

A change made through this server is seen at once (its index reloads); one made by another
server or ``visor keys`` within ``VISOR_AUTH_REFRESH_S``, when this server re-reads keys.
An open server (no keys) hands out a lease that never ends and admits every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from starlette.types import Scope

from app.auth.credentials import Credential
from app.auth.index import Refusal
from app.auth.metrics import RefusalReason
from app.auth.principal import Principal
from app.auth.quotas import retry_after
from app.auth.service import AuthService
from app.errors import ErrorCode, build_envelope

T = TypeVar("T")


class CredentialLost(Exception):
    """The connection's credential no longer authenticates: end the connection."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


class Lease:
    """The credential a connection was admitted with, re-checked while it lasts."""

    def __init__(self, auth: AuthService | None, credential: Credential | None) -> None:
        self._auth = auth if credential is not None else None
        self._credential = credential

    def check(self) -> Principal | Refusal | None:
        """The caller now (``None``: nobody to check, an open server)."""
        if self._auth is None or self._credential is None:
            return None
        return self._auth.index.check(self._credential)

    def admit_call(self) -> dict[str, Any]:
        """Admit one tool call on this connection: ``{}`` when it may run, else the
        ``rate_limited`` envelope to answer instead. Raises :class:`CredentialLost`."""
        found = self.check()
        if isinstance(found, Refusal):
            raise CredentialLost(found)
        if found is None:
            return {}
        wait = found.requests.take()
        if wait <= 0:
            return {}
        assert self._auth is not None
        self._auth.counters.refusals[RefusalReason.RATE] += 1
        seconds = retry_after(wait)
        return build_envelope(
            ErrorCode.RATE_LIMITED,
            f"key {found.key_id} is over its request rate",
            details={"retry_after_s": seconds},
        )

    async def lost(self) -> Refusal:
        """Wait until the credential stops authenticating, and say why. Never returns on an
        open server (cancel it when the connection ends)."""
        if self._auth is None or self._credential is None:
            await asyncio.Event().wait()
        assert self._auth is not None and self._credential is not None
        while True:
            await asyncio.sleep(self._auth.recheck_s)
            found = await self._auth.authenticate(self._credential)
            if isinstance(found, Refusal):
                return found

    async def guard(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        """The items of ``source`` until it ends, or :class:`CredentialLost` as soon as the
        credential is lost (for a stream of events, e.g. SSE)."""
        lost = asyncio.ensure_future(self.lost())
        try:
            while True:
                step = asyncio.ensure_future(anext(source))
                await asyncio.wait({step, lost}, return_when=asyncio.FIRST_COMPLETED)
                if lost.done():
                    step.cancel()
                    raise CredentialLost(lost.result())
                try:
                    item = step.result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            lost.cancel()


def lease_of(scope: Scope) -> Lease:
    """The lease of the request in ``scope`` (its credential, as the middleware admitted it)."""
    credential = scope.get("state", {}).get("credential")
    app = scope.get("app")
    auth = getattr(app.state, "auth", None) if app is not None else None
    return Lease(auth, credential)


def lost_envelope(refusal: Refusal) -> dict[str, Any]:
    """The error a connection ends with when its credential is lost."""
    return build_envelope(
        ErrorCode.UNAUTHORIZED, refusal.value, details={"reason": "credential_lost"}
    )
