"""Two Visor servers on one PostgreSQL database, running their tools on one Ray.

300 jobs are submitted round-robin to both; midway one server is killed with ``kill -9``
while it runs jobs. Every accepted job must end — none lost — and none may start more
often than its attempt limit; the jobs the dead server was running are taken back and run
again by the survivor; the dead server's Ray actors do not outlive it.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from executors import ray_available
from server_process import ServerProcess
from waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.ray,
    pytest.mark.postgres,
    pytest.mark.skipif(ray_available() is not None, reason=str(ray_available())),
]

JOBS = 300
TOOL_S = 0.05


def _gone(pids: set[int]) -> bool:
    return not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)


def test_300_jobs_on_two_servers_survive_a_kill_9_midway(
    tmp_path: Path, ray_cluster: str, shared_database: str
) -> None:
    env = {
        "VISOR_DATABASE_URL": shared_database,
        "VISOR_EXECUTOR": "ray",
        "VISOR_RAY_ADDRESS": ray_cluster,
        "VISOR_RAY_NUM_CPUS": "0.25",
        "VISOR_PLUGIN_WORKERS": json.dumps({"echo": 2}),
        "VISOR_JOB_CONCURRENCY": "4",
        "VISOR_JOB_HEARTBEAT_S": "0.5",
    }
    log = tmp_path / "servers.log"
    doomed = ServerProcess(tmp_path / "a", log, env=env).launch()
    survivor = ServerProcess(tmp_path / "b", log, env=env).launch()
    try:
        doomed.wait_ready()
        survivor.wait_ready()
        doomed_actors = {
            doomed.http.post("/v1/analyze", json={"plugin": "echo"}).json()["result"]["pid"]
        }

        accepted: list[str] = []
        servers = (doomed, survivor)
        for i in range(JOBS // 2):
            accepted.append(servers[i % 2].submit("sleep", seconds=TOOL_S, steps=1))

        def finished() -> int:
            return sum(j["status"] == "SUCCESS" for j in survivor.all_jobs().values())

        wait_until(lambda: finished() >= 40, "the first jobs to finish on both servers")
        doomed.kill9()  # it holds RUNNING jobs: its slots are never idle during the burst
        wait_until(lambda: _gone(doomed_actors), "the killed server's Ray actors to stop")
        for _ in range(JOBS - len(accepted)):
            accepted.append(survivor.submit("sleep", seconds=TOOL_S, steps=1))

        wait_until(
            lambda: all(j["status"] in ("SUCCESS", "FAILED") for j in survivor.all_jobs().values()),
            "every job to end",
            timeout_s=120,
        )
        jobs = survivor.all_jobs()
        assert set(jobs) == set(accepted), "a job accepted with 202 was lost"
        assert all(1 <= j["attempts"] <= j["max_attempts"] for j in jobs.values())
        assert all(j["status"] == "SUCCESS" for j in jobs.values()), [
            j["error"] for j in jobs.values() if j["status"] != "SUCCESS"
        ]
        retried = [j for j in jobs.values() if j["attempts"] > 1]
        assert retried, "no job was running on the killed server"
        assert all(j["result"] == {"slept": True} for j in jobs.values())
    finally:
        doomed.stop()
        survivor.stop()
