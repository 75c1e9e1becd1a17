"""Helpers of the video tests: upload, submit, wait (polling; never asserting on time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")


def wait_until(predicate: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def upload(client: Any, path: Path) -> str:
    response = client.post("/v1/files", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def submit(client: Any, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/video/jobs", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/jobs/{response.json()['id']}"
    job: dict[str, Any] = response.json()
    return job


def finished(client: Any, job_id: str) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        return job if job.get("status") in TERMINAL else None

    result: dict[str, Any] = wait_until(current, f"video job {job_id} to finish")
    return result
