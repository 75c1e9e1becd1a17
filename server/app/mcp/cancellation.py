"""Which MCP tool calls are running, so ``notifications/cancelled`` can stop the right one.

The endpoint is stateless: a client's ``notifications/cancelled`` arrives as its own POST,
in a transport that never saw the call, so the SDK cannot match it. Visor keeps the table
itself. Request ids are chosen by clients (most count from 0), so an id alone would let one
client cancel another's call: a call is keyed by its *caller* — the client's address and
the credential and client headers it sent — plus its request id. A notification that
matches no running call, or more than one, is ignored, as the protocol allows.

Only the event loop touches the table (tool calls and the HTTP door both run there), so
it needs no lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

from starlette.types import Scope

from app.mcp.jsonrpc import RequestId
from app.plugins.runtime.executor import CallContext

log = logging.getLogger("visor.mcp")

#: Headers that tell one client from another when they share an address.
_CALLER_HEADERS = frozenset({b"authorization", b"x-api-key", b"user-agent", b"mcp-session-id"})


def caller_of(scope: Scope) -> str:
    """A stable, non-secret fingerprint of who sent an HTTP request."""
    client = scope.get("client")
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(client[0] if client else "").encode())
    for name, value in sorted(scope.get("headers", ())):
        if name in _CALLER_HEADERS:
            digest.update(b"\0" + name + b"\0" + value)
    return digest.hexdigest()


class InFlightCalls:
    """Running MCP tool calls by request id, each with the scope of the request that made
    it; the caller's fingerprint is computed only when a cancel asks (rare), not per call."""

    def __init__(self) -> None:
        self._calls: dict[RequestId, list[tuple[Scope, CallContext]]] = {}

    def __len__(self) -> int:
        return sum(len(calls) for calls in self._calls.values())

    @contextlib.contextmanager
    def track(self, scope: Scope, request_id: RequestId, call: CallContext) -> Iterator[None]:
        entry = (scope, call)
        self._calls.setdefault(request_id, []).append(entry)
        try:
            yield
        finally:
            calls = self._calls.get(request_id, [])
            if entry in calls:
                calls.remove(entry)
            if not calls:
                self._calls.pop(request_id, None)

    def cancel(self, caller: str, request_id: RequestId) -> bool:
        """Stop the call ``request_id`` of ``caller``; False if there is no single match."""
        calls = [c for s, c in self._calls.get(request_id, []) if caller_of(s) == caller]
        if len(calls) != 1:
            if calls:
                log.warning(
                    "notifications/cancelled for request %r matches %d calls; none cancelled",
                    request_id,
                    len(calls),
                )
            return False
        calls[0].cancel()
        log.info("call %s cancelled by the client (request %r)", calls[0].call_id, request_id)
        return True
