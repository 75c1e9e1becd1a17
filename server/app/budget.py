"""The budget for request bodies held in memory at once, shared by every door that holds
them: HTTP bodies (:class:`app.api.middleware.RequestContextMiddleware`) and live-stream
frames (:mod:`app.streams.session`). Built once by the app factory.

Taken on the event loop and, possibly, from worker threads: a lock keeps the count exact.
"""

from __future__ import annotations

import threading


class BodyBudget:
    """At most ``limit`` bytes held; :meth:`try_take` never waits."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        return self._held

    def try_take(self, size: int) -> bool:
        """Hold ``size`` more bytes if they fit; ``False`` (nothing held) if not."""
        with self._lock:
            if self._held + size > self.limit:
                return False
            self._held += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self._held -= size
