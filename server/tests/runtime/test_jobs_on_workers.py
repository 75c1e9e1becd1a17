"""Jobs on process-isolated plugins: progress arrives, and cancelling really stops the tool."""

from __future__ import annotations

from typing import Any

import pytest
from executors import executor_settings
from fastapi.testclient import TestClient
from helpers import plugin_sources
from isolation_helpers import eventually, gone

pytestmark = pytest.mark.slow


def _job(client: TestClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return body


def test_a_job_reports_progress_and_a_cancel_kills_its_worker(
    make_client: Any, executor_kind: str
) -> None:
    client: TestClient = make_client(
        plugin_sources("crashy"), job_progress_interval_s=0.0, **executor_settings(executor_kind)
    )
    done = client.post(
        "/v1/jobs",
        json={"plugin": "crashy", "tool": "sleep", "args": {"seconds": 0.2, "steps": 4}},
    ).json()
    finished = eventually(
        lambda: (job := _job(client, done["id"]))["status"] == "SUCCESS" and job,
        "the sleep job to finish",
    )
    assert finished["progress"] == 1.0 and finished["result"]["slept"] == 0.2

    executor = client.app.state.plugin_service.executor.process  # type: ignore[attr-defined]
    (worker,) = executor.pids("crashy")
    job = client.post("/v1/jobs", json={"plugin": "crashy", "tool": "hang"}).json()
    eventually(lambda: _job(client, job["id"])["status"] == "RUNNING", "the job to run")
    eventually(lambda: executor.pool("crashy").stats()["busy"] == 1, "the tool to start")

    assert client.delete(f"/v1/jobs/{job['id']}").status_code in (200, 202)
    eventually(lambda: _job(client, job["id"])["status"] == "CANCELLED", "the job to cancel")
    eventually(lambda: gone([worker]), "the hung worker to be killed")
    assert client.post("/v1/plugins/crashy/tools/pid/run", json={}).status_code == 200
