"""Run plugin code that may never return (constructors, startup hooks) with a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def call_with_deadline(fn: Callable[[], T], timeout_s: float, *, name: str = "visor-deadline") -> T:
    """Return ``fn()``, re-raise what it raised, or raise TimeoutError after ``timeout_s``.

    ``fn`` runs on a daemon thread: if it hangs, the thread is abandoned (it cannot be
    killed) but never blocks the caller or interpreter exit.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"did not finish within {timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
