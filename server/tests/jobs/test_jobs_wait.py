"""Submit and wait: one request gives job durability with a synchronous call's convenience."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources, png_bytes
from job_plugins import SOURCES, expect
from jobs_helpers import wait_for_status


def test_a_job_that_finishes_in_time_answers_200_with_its_result(job_client: TestClient) -> None:
    response = job_client.post("/v1/jobs?wait=20", json={"plugin": "echo", "args": {"text": "hi"}})
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "SUCCESS" and job["result"]["text"] == "hi"
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    # The job is durable like any other: the store has it.
    assert job_client.get(f"/v1/jobs/{job['id']}").json()["status"] == "SUCCESS"


def test_a_failing_job_answers_200_with_its_error(make_client: Any) -> None:
    client = make_client(plugin_sources("raises"))
    response = client.post("/v1/jobs?wait=20", json={"plugin": "raises"})
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "FAILED" and job["result"] is None
    assert job["error"]["details"]["code"] == "tool_error"


def test_a_job_still_running_at_the_deadline_answers_202(job_client: TestClient) -> None:
    token = uuid.uuid4().hex
    expect(token)  # spin runs until cancelled
    response = job_client.post(
        "/v1/jobs?wait=0.2",
        json={"plugin": "jobtest", "tool": "spin", "args": {"token": token}},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in {"PENDING", "RUNNING"}
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    job_client.delete(f"/v1/jobs/{job['id']}")
    assert wait_for_status(job_client, job["id"], "CANCELLED")["error"]["details"]["code"] == (
        "cancelled"
    )


def test_wait_is_bounded_by_the_server_setting(make_client: Any) -> None:
    client = make_client(SOURCES, job_max_wait_s=0.1)
    token = uuid.uuid4().hex
    expect(token)  # spin runs until cancelled
    response = client.post(
        "/v1/jobs?wait=3600",
        json={"plugin": "jobtest", "tool": "spin", "args": {"token": token}},
    )
    assert response.status_code == 202, response.text
    client.delete(f"/v1/jobs/{response.json()['id']}")
    assert wait_for_status(client, response.json()["id"], "CANCELLED")


def test_multipart_submit_can_wait_too(make_client: Any) -> None:
    client = make_client(builtin_sources("image_info"))
    response = client.post(
        "/v1/jobs?wait=30",
        data={"plugin": "image_info"},
        files={"file": ("red.png", png_bytes(), "image/png")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["width"] > 0


def test_a_negative_wait_is_an_invalid_input(job_client: TestClient) -> None:
    response = job_client.post("/v1/jobs?wait=-1", json={"plugin": "echo", "args": {}})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["code"] == "invalid_input"
    assert job_client.get("/v1/jobs").json()["jobs"] == []  # a refused submit stores nothing
