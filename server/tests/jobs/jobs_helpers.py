"""Waiting helpers for the job tests: poll until a condition holds (never assert on time)."""

from __future__ import annotations

from typing import Any

from waiting import wait_until


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
