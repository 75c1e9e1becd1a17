"""The autoscaling signal (issue 27): jobs pending per plugin and the oldest one's age, as
``GET /v1/scaling`` and as Prometheus gauges, and the admission counters per plugin."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from helpers import plugin_sources
from waiting import wait_until


def _submit(client: TestClient, **args: Any) -> str:
    response = client.post("/v1/jobs", json={"plugin": "echo", "tool": "sleep", "args": args})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def test_pending_jobs_and_their_age_are_the_signal(make_client: Any) -> None:
    client: TestClient = make_client(
        plugin_sources("echo"), force_in_process=True, job_concurrency=1
    )
    empty = client.get("/v1/scaling").json()
    assert empty["pending_jobs"] == 0 and empty["oldest_pending_age_s"] == 0
    (echo,) = [p for p in empty["plugins"] if p["plugin"] == "echo"]
    assert echo["pending_jobs"] == 0

    blocker = _submit(client, seconds=30, steps=300)  # holds the only slot
    wait_until(lambda: client.get(f"/v1/jobs/{blocker}").json()["status"] == "RUNNING", "a run")
    waiting = [_submit(client, seconds=0) for _ in range(3)]
    signal = client.get("/v1/scaling").json()
    (echo,) = [p for p in signal["plugins"] if p["plugin"] == "echo"]
    assert (signal["pending_jobs"], echo["pending_jobs"]) == (3, 3)
    assert echo["oldest_pending_age_s"] > 0 and signal["running_jobs_capacity"] == 1
    assert echo["running_calls"] == 1 and echo["capacity"] >= 1  # the blocker holds a slot

    metrics = client.get("/metrics").text
    assert 'visor_jobs_pending{plugin="echo"} 3.0' in metrics
    assert 'visor_admission_running{plugin="echo"} 1.0' in metrics
    assert 'visor_jobs_oldest_pending_age_seconds{plugin="echo"}' in metrics

    assert client.delete(f"/v1/jobs/{blocker}").status_code == 200
    for job_id in waiting:
        wait_until(
            lambda j=job_id: client.get(f"/v1/jobs/{j}").json()["status"] == "SUCCESS", "done"
        )
    assert client.get("/v1/scaling").json()["pending_jobs"] == 0
