"""Who owns what a call uploads or references: the calling key, or None while auth is off.

The request's authentication sets it for the duration of the call (a context variable,
so it reaches the resolver inside ToolRunner without widening any signature).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from app.auth.principal import owner_of_new_records

_OWNER: ContextVar[str | None] = ContextVar("visor_owner", default=None)


def current_owner() -> str | None:
    """The explicit owner if one is set, else the request's API key (app.auth)."""
    explicit = _OWNER.get()
    return explicit if explicit is not None else owner_of_new_records()


@contextmanager
def owner_scope(owner: str | None) -> Iterator[None]:
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)
