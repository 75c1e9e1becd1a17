"""A circuit breaker per plugin: repeated worker losses stop sending it traffic.

CLOSED: calls flow; each crash, timeout or memory kill is recorded. ``threshold`` of them
within ``window_s`` OPEN the circuit: calls fail fast with ``plugin_unavailable`` instead
of feeding a broken plugin more work. After ``cooldown_s`` a probe is due (half-open); a
passing probe CLOSES it, a failing one re-opens it with a doubled cooldown (capped).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 3,
        window_s: float = 60.0,
        cooldown_s: float = 5.0,
        max_cooldown_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = max(1, threshold)
        self._window_s = window_s
        self._base_cooldown_s = cooldown_s
        self._max_cooldown_s = max(cooldown_s, max_cooldown_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()
        self._open = False
        self._cooldown_s = cooldown_s
        self._opened_at = 0.0
        self._reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def reason(self) -> str | None:
        return self._reason

    def record_failure(self, reason: str) -> bool:
        """Count one worker loss; True if this one opened the circuit."""
        with self._lock:
            now = self._clock()
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self._window_s:
                self._failures.popleft()
            if self._open or len(self._failures) < self._threshold:
                return False
            self._open = True
            self._opened_at = now
            self._cooldown_s = self._base_cooldown_s
            self._reason = (
                f"circuit open after {len(self._failures)} worker failures within "
                f"{self._window_s:g}s; last: {reason}"
            )
            return True

    def probe_due(self) -> bool:
        """Open, and the cooldown has passed: time for a half-open probe."""
        with self._lock:
            return self._open and self._clock() - self._opened_at >= self._cooldown_s

    def retry_after_s(self) -> float:
        with self._lock:
            if not self._open:
                return 0.0
            return max(0.0, self._cooldown_s - (self._clock() - self._opened_at))

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._failures.clear()
            self._reason = None
            self._cooldown_s = self._base_cooldown_s

    def reopen(self, reason: str) -> None:
        """A probe failed: stay open and wait twice as long before the next one."""
        with self._lock:
            self._open = True
            self._opened_at = self._clock()
            self._cooldown_s = min(self._max_cooldown_s, self._cooldown_s * 2)
            self._reason = f"circuit open; probe failed: {reason}"
