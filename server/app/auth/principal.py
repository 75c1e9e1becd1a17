"""The authenticated caller, visible to every layer of one request.

The middleware puts the :class:`Principal` in ``scope["state"]["principal"]`` (HTTP code
reads ``request.state.principal``) and in a context variable that follows the request into
worker threads and MCP handlers, so the job service and tool calls can ask
:func:`current_principal` without a parameter on every signature. ``None`` means nobody is
authenticated: the server is open (loopback, no keys) or the code runs for the server
itself (the job dispatcher).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from app.auth.scopes import Access, Scope
from app.auth.shared_quotas import CallLimit, RateLimit


@dataclass(frozen=True, eq=False)
class Principal:
    """A caller identified by an API key: its public id, name and scope, and its quotas."""

    key_id: str
    name: str
    scope: Scope
    requests: RateLimit = field(repr=False)  # per process, or shared (Redis)
    calls: CallLimit = field(repr=False)

    @property
    def is_admin(self) -> bool:
        return self.scope is Scope.ADMIN

    def allows(self, access: Access) -> bool:
        return self.scope.allows(access)


_current: ContextVar[Principal | None] = ContextVar("visor_principal", default=None)


def current_principal() -> Principal | None:
    """The caller of the request this code runs for (``None``: open server or the server)."""
    return _current.get()


def owner_filter() -> str | None:
    """The key id whose records the caller may see; ``None`` means every record."""
    principal = _current.get()
    return None if principal is None or principal.is_admin else principal.key_id


def owner_of_new_records() -> str | None:
    """The key id to record as the owner of what the caller creates (jobs, files)."""
    principal = _current.get()
    return principal.key_id if principal is not None else None


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Run a block as ``principal`` (the middleware uses this; so can tests and tools)."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)
