"""A job that meets a saturated plugin waits for it instead of failing."""

from __future__ import annotations

import threading
from typing import Any

from helpers import plugin_sources
from jobs_helpers import wait_for_status
from waiting import wait_until


def test_overloaded_plugin_delays_a_job_but_does_not_fail_it(make_client: Any) -> None:
    client = make_client(
        plugin_sources("echo"),
        plugin_isolation={"echo": "process"},
        plugin_workers={"echo": 1},
        plugin_queue_sizes={"echo": 0},
    )

    def sleep_call() -> None:
        # The probe below may take the only worker first; the long call then gets 503
        # (queue 0) and is retried until it holds the worker.
        while True:
            long_call = client.post(
                "/v1/analyze",
                json={"plugin": "echo", "tool": "sleep", "args": {"seconds": 1.5}},
            )
            if long_call.status_code != 503:
                return

    busy = threading.Thread(target=sleep_call)
    busy.start()
    try:

        def saturated() -> bool:
            probe = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "p"}})
            return probe.status_code == 503 and "Retry-After" in probe.headers

        wait_until(saturated, "the only worker to be busy")
        response = client.post("/v1/jobs", json={"plugin": "echo", "args": {"text": "queued"}})
        assert response.status_code == 202
        job = wait_for_status(client, response.json()["id"], "SUCCESS", "FAILED")
    finally:
        busy.join()
    assert job["status"] == "SUCCESS", job["error"]
    assert job["result"]["text"] == "queued"
    assert job["attempts"] == 1
