"""Helpers of the video tests: upload, submit, wait (polling; never asserting on time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from waiting import wait_until

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")


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
