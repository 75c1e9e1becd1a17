"""kill -9 a real server while jobs run; restart it on the same data directory (SQLite)
or the same database (PostgreSQL).

Every accepted job must end SUCCESS, or FAILED with ``interrupted`` once its attempts are
used up — none lost, none started more often than ``max_attempts`` allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_process import ServerProcess
from waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def test_no_job_is_lost_or_run_too_often_across_kill_9(
    tmp_path: Path, servers: list[ServerProcess], database_url: str | None
) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"

    def boot() -> ServerProcess:
        server = ServerProcess(data_dir, log, database_url).start()
        servers.append(server)
        return server

    # -- run 1: three long jobs fill the three slots, the short ones queue behind them ----
    first = boot()
    once = first.submit("sleep", 1, seconds=60, steps=600)  # killed on its only attempt
    twice = first.submit("sleep", 2, seconds=60, steps=600)  # killed on both attempts
    retried = first.submit("sleep", 3, seconds=2, steps=20)  # killed once, then finishes
    short = [first.submit("sleep", 3, seconds=0.02, steps=1) for _ in range(20)]
    wait_until(
        lambda: all(first.job(j)["status"] == "RUNNING" for j in (once, twice, retried)),
        "the three long jobs to run",
    )
    assert {first.job(j)["status"] for j in short} == {"PENDING"}
    first.kill9()

    # -- run 2: recovery retries what has attempts left; more jobs arrive meanwhile ------
    second = boot()
    late = [second.submit("sleep", 3, seconds=0.02, steps=1) for _ in range(10)]
    assert second.job(once)["status"] == "FAILED"  # recovered before the server was ready
    wait_until(
        lambda: (
            all(second.job(j)["status"] == "SUCCESS" for j in [retried, *short, *late])
            and second.job(twice)["status"] == "RUNNING"
        ),
        "the retried and short jobs to finish while the second attempt of 'twice' runs",
    )
    assert second.job(twice)["attempts"] == 2
    second.kill9()

    # -- run 3: 'twice' is out of attempts ------------------------------------------------
    third = boot()
    jobs = third.all_jobs()
    accepted = {once, twice, retried, *short, *late}
    assert set(jobs) == accepted, "a job accepted with 202 was lost"
    assert all(j["status"] in ("SUCCESS", "FAILED") for j in jobs.values())
    assert all(1 <= j["attempts"] <= j["max_attempts"] for j in jobs.values())

    for job_id, attempts in ((once, 1), (twice, 2)):
        job = jobs[job_id]
        assert job["status"] == "FAILED" and job["attempts"] == attempts
        assert job["error"]["type"] == "ExecutionError"
        assert job["error"]["details"] == {
            "code": "interrupted",
            "attempts": attempts,
            "max_attempts": attempts,
        }
        assert job["error"]["plugin"] == "echo"
        result = third.http.get(f"/v1/jobs/{job_id}/result")
        assert result.status_code == 500
        assert result.json()["error"]["details"]["code"] == "interrupted"

    assert jobs[retried]["status"] == "SUCCESS" and jobs[retried]["attempts"] == 2
    assert jobs[retried]["result"] == {"slept": True}
    assert all(jobs[j]["status"] == "SUCCESS" and jobs[j]["attempts"] == 1 for j in short + late)
