"""Progress throttling: a chatty tool may report thousands of times; the store sees a few.

The first report passes, then at most one per ``interval_s``. Reports in between are
dropped (the next one that passes carries the newest value); the final status makes the
last word anyway. With ``hold_first`` the first report too waits until ``interval_s`` has
passed since the throttle was made (the job started): a job shorter than that writes no
progress at all — its final status says 1.0 — which spares the store one write per short
job under load. The clock is injectable so the rule is tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProgressThrottle:
    def __init__(
        self,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        hold_first: bool = False,
    ) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last: float | None = clock() if hold_first else None
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """True if a report made now should be recorded."""
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self._interval_s:
                return False
            self._last = now
            return True
