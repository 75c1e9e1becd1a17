"""Waiting helpers for the job tests: poll until a condition holds (never assert on time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_WAIT_S = 20.0


def wait_until(predicate: Callable[[], Any], what: str, timeout_s: float = _WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def wait_for_status(client: Any, job_id: str, *statuses: str) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        return job if job.get("status") in statuses else None

    result: dict[str, Any] = wait_until(current, f"job {job_id} to be {'/'.join(statuses)}")
    return result


def parse_sse(lines: list[str]) -> list[tuple[str, str]]:
    """``(event, data)`` pairs from raw text/event-stream lines."""
    events: list[tuple[str, str]] = []
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = "message", list[str]()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if data:
        events.append((name, "\n".join(data)))
    return events
