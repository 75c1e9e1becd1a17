"""Waiting in tests: poll until a condition holds, fail after a generous while.

Never assert on time (machines are shared and noisy): the timeout only turns a hang into
a failure that names what was awaited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any], what: str, timeout_s: float = 60.0, interval_s: float = 0.02
) -> Any:
    """Poll ``predicate`` until it is truthy and return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval_s)
