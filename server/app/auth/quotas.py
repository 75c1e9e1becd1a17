"""Quotas: token buckets for request rates, counters for concurrent tool calls.

Everything here is per server process and in memory (several replicas each enforce the
limits on the traffic they see). Request buckets are taken by the event loop and, for the
tool calls of a pipeline run, by worker threads; the concurrency counter is taken by worker
threads. Both have a lock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; one request takes one token."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float | None = None) -> float:
        """Take a token: 0.0 if granted, else the seconds until one is available."""
        with self._lock:
            now = time.monotonic() if now is None else now
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


def retry_after(seconds: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))


class ConcurrencyLimit:
    """At most ``limit`` holders at once; :meth:`try_acquire` never waits."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._held >= self.limit:
                return False
            self._held += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._held -= 1

    @property
    def held(self) -> int:
        return self._held


class FailureThrottle:
    """Slows down repeated failed authentication from one client address.

    Each failure takes a token from the address's bucket; an address with an empty bucket
    is refused (429) before its credentials are even looked at. Buckets that have refilled
    completely are forgotten, so memory stays bounded by the addresses failing right now.
    """

    def __init__(self, burst: int, per_minute: float, *, max_tracked: int = 10_000) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._max_tracked = max_tracked
        self._buckets: dict[str, TokenBucket] = {}

    def blocked_for(self, address: str) -> float:
        """Seconds this address must wait (0.0: it may try)."""
        bucket = self._buckets.get(address)
        if bucket is None:
            return 0.0
        now = time.monotonic()
        available = bucket.tokens + (now - bucket.stamp) * self._rate
        return 0.0 if available >= 1.0 else (1.0 - available) / self._rate

    def failed(self, address: str) -> None:
        now = time.monotonic()
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self._max_tracked:
                self._prune(now)
            bucket = self._buckets[address] = TokenBucket(self._rate, self._burst, stamp=now)
        bucket.take(now)

    def _prune(self, now: float) -> None:
        for address in [a for a, b in self._buckets.items() if b.full(now)]:
            del self._buckets[address]
        while len(self._buckets) >= self._max_tracked:  # all failing: forget the oldest
            del self._buckets[next(iter(self._buckets))]
