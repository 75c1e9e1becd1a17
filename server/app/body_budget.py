"""One budget for the bodies the server holds in memory at once, whatever brought them in.

A request's JSON body and an image its call downloads from ``image_url`` are the same kind
of memory: bytes a client made the server hold while it handles the request. Both are
taken from one :class:`BodyBudget` (``VISOR_MAX_BODIES_IN_FLIGHT_BYTES``); past it the
caller gets 503 ``overloaded`` with ``Retry-After`` instead of the server growing.

The request middleware opens a :class:`Share` per request and makes it current (a context
variable, so it reaches the resolver inside ToolRunner on a worker thread). What is taken
in it is given back when the response is done, which is when that memory is freed. Code
running outside any request (the CLI's in-process mode) opens its own share around the
work that holds the bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class BodyBudget:
    """Bytes held at once, under a limit. Thread-safe: downloads run on worker threads."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        return self._held

    def take(self, size: int, share: Share | None = None) -> bool:
        """Hold ``size`` more bytes if they fit (counted in ``share`` too); False, and
        nothing held, if they do not."""
        with self._lock:
            if self._held + size > self.limit_bytes:
                return False
            self._held += size
            if share is not None:  # under the lock: a request's loop and its worker
                share.held_bytes += size  # thread may both take in one share
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self._held -= size

    @contextmanager
    def share(self) -> Iterator[Share]:
        """A share of the budget that is current until the block ends, then given back."""
        share = Share(self)
        token = _CURRENT.set(share)
        try:
            yield share
        finally:
            _CURRENT.reset(token)
            share.close()


class Share:
    """What one request (or one unit of work) holds of the budget."""

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.held_bytes = 0

    def take(self, size: int) -> bool:
        return size <= 0 or self.budget.take(size, self)

    def close(self) -> None:
        with self.budget._lock:
            self.budget._held -= self.held_bytes
            self.held_bytes = 0


_CURRENT: ContextVar[Share | None] = ContextVar("visor_body_share", default=None)


def current_share() -> Share | None:
    """The share of the request being handled, or None outside any request."""
    return _CURRENT.get()
