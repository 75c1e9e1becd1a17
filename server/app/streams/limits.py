"""How many live streams may be open: per key and on the whole server.

A stream holds up to two frames in memory (one in flight, one pending) and a worker thread
while a frame runs, for as long as its client likes; without a cap, enough connections
would hold any amount of memory. Counted on the event loop only (where streams open and
close), so no lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import DEFAULT_RETRY_AFTER_S, ErrorCode, VisorError
from app.settings import Settings


class StreamLimits:
    def __init__(self, *, per_key: int, total: int) -> None:
        self.per_key = per_key
        self.total = total
        self._by_key: Counter[str] = Counter()
        self._open = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamLimits:
        return cls(per_key=settings.stream_max_per_key, total=settings.stream_max_total)

    @property
    def open_streams(self) -> int:
        return self._open

    @contextmanager
    def hold(self, key_id: str | None) -> Iterator[None]:
        """One open stream for ``key_id`` (``None``: an open server, no key) while the block
        runs; :class:`VisorError` at once if a limit is reached."""
        if key_id is not None and self._by_key[key_id] >= self.per_key:
            raise VisorError(
                f"key {key_id} already has {self.per_key} streams open "
                "(VISOR_STREAM_MAX_PER_KEY): close one first",
                code=ErrorCode.RATE_LIMITED,
                details={"limit": self.per_key, "reason": "streams_per_key"},
            )
        if self._open >= self.total:
            raise VisorError(
                f"the server has {self.total} streams open (VISOR_STREAM_MAX_TOTAL): retry shortly",
                code=ErrorCode.OVERLOADED,
                details={
                    "limit": self.total,
                    "reason": "streams_total",
                    "retry_after_s": DEFAULT_RETRY_AFTER_S,
                },
            )
        self._open += 1
        if key_id is not None:
            self._by_key[key_id] += 1
        try:
            yield
        finally:
            self._open -= 1
            if key_id is not None:
                self._by_key[key_id] -= 1
                if not self._by_key[key_id]:
                    del self._by_key[key_id]
