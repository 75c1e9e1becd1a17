"""Servers on one PostgreSQL wake each other (LISTEN/NOTIFY): work, events and cancels.

Every server here polls once an hour and beats its heart once an hour, so anything that
happens across servers within the test can only have travelled by notification.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from job_plugins import RUNS, SOURCES, expect
from jobs_helpers import parse_sse, wait_for_status
from waiting import wait_until

pytestmark = pytest.mark.postgres

_DEAF = {"job_poll_s": 3600.0, "job_heartbeat_s": 3600.0, "job_concurrency": 1}


def _servers(make_client: Any, postgres_url: str, count: int = 2) -> list[TestClient]:
    _no_pending_jobs(postgres_url)
    return [
        make_client(SOURCES, database_url=postgres_url, job_progress_interval_s=0.0, **_DEAF)
        for _ in range(count)
    ]


def _no_pending_jobs(url: str) -> None:
    """Earlier tests' waiting jobs would take the servers' only slot."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if "visor_jobs" in inspect(conn).get_table_names():
                conn.execute(text("DELETE FROM visor_jobs WHERE status = 'PENDING'"))
    finally:
        engine.dispose()


def _submit(client: TestClient, tool: str, token: str) -> str:
    body = {"plugin": "jobtest", "tool": tool, "args": {"token": token}}
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def _dispatcher(client: TestClient) -> Any:
    return client.app.state.job_service.dispatcher  # type: ignore[attr-defined]


def test_a_busy_server_hands_new_work_to_a_free_one_at_once(
    make_client: Any, postgres_url: str
) -> None:
    busy, free = _servers(make_client, postgres_url)
    spin = uuid.uuid4().hex
    started, stopped = expect(spin)
    spinning = _submit(busy, "spin", spin)
    assert started.wait(10)
    assert spinning in _dispatcher(busy).running()  # its only slot is taken

    counted = uuid.uuid4().hex
    job_id = _submit(busy, "count", counted)  # busy cannot run it; free must hear of it
    done = wait_for_status(free, job_id, "SUCCESS")
    assert done["attempts"] == 1 and RUNS[counted] == 1

    assert busy.delete(f"/v1/jobs/{spinning}").status_code == 200
    assert stopped.wait(10)


def test_events_stream_and_cancels_act_across_servers_at_once(
    make_client: Any, postgres_url: str
) -> None:
    owner, other = _servers(make_client, postgres_url)
    token = uuid.uuid4().hex
    started, stopped = expect(token)
    job_id = _submit(owner, "spin", token)
    assert started.wait(10)
    assert job_id in _dispatcher(owner).running()

    lines: list[str] = []

    def follow() -> None:  # the other server streams a job it does not run
        with other.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            for line in stream.iter_lines():
                lines.append(line)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    wait_until(
        lambda: sum(1 for n, _ in parse_sse(list(lines)) if n == "progress") >= 3,
        "progress events relayed from the owning server",
    )

    cancelled = other.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert stopped.wait(10), "the owning server did not stop the tool"
    reader.join(20)
    assert not reader.is_alive(), "the stream did not end after the final status"

    events = [(name, json.loads(data)) for name, data in parse_sse(lines)]
    assert events[0][0] == "status" and events[0][1]["status"] == "RUNNING"
    assert events[-1][0] == "status" and events[-1][1]["status"] == "CANCELLED"
    progress = [job["progress"] for name, job in events if name == "progress"]
    assert progress == sorted(progress) and progress[0] > 0
