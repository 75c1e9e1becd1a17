"""Many submitters, two servers' dispatchers with several slots each, one store:
every job runs exactly once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from fastapi.testclient import TestClient
from job_plugins import RUNS, SOURCES
from sqlalchemy import select
from waiting import wait_until

from app.jobs.store.tables import jobs as jobs_table

SUBMITTERS = 8
JOBS_PER_SUBMITTER = 25


def test_many_submitters_and_dispatchers_run_each_job_once(
    make_client: Any, database_url: str | None
) -> None:
    # Two apps on the same database (the same data directory for SQLite): two dispatchers
    # with three slots each, competing for every claim.
    servers: list[TestClient] = [
        make_client(SOURCES, database_url=database_url, job_concurrency=3) for _ in range(2)
    ]
    tokens = [uuid.uuid4().hex for _ in range(SUBMITTERS * JOBS_PER_SUBMITTER)]
    accepted: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(SUBMITTERS)

    def submitter(n: int) -> None:
        client = servers[n % 2]
        go.wait()
        for token in tokens[n::SUBMITTERS]:
            body = {"plugin": "jobtest", "tool": "count", "args": {"token": token}}
            response = client.post("/v1/jobs", json=body)
            assert response.status_code == 202, response.text
            with lock:
                accepted.append(response.json()["id"])

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == len(tokens)

    def finished() -> list[dict[str, Any]] | None:
        page = servers[0].get("/v1/jobs", params={"limit": 500}).json()
        jobs: list[dict[str, Any]] = page["jobs"]
        return jobs if all(j["status"] == "SUCCESS" for j in jobs) else None

    jobs = wait_until(finished, "every job to succeed")
    assert sorted(j["id"] for j in jobs) == sorted(accepted)
    assert {j["attempts"] for j in jobs} == {1}
    assert all(RUNS[token] == 1 for token in tokens), "a job ran more than once"
    assert sum(RUNS[token] for token in tokens) == len(tokens)

    store = servers[0].app.state.job_service.store  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        owners = set(conn.execute(select(jobs_table.c.owner)).scalars())
    assert len(owners) == 2, "both dispatchers should have taken a share"
