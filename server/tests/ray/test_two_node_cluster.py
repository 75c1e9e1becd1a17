"""A Visor server on a two-node Ray cluster; the node running the plugin actors dies.

The head node has no CPUs, so the actors are placed on the worker node. While jobs run,
that node is killed (raylet and actors, SIGKILL) and a fresh one joins. Every accepted job
ends SUCCESS, or FAILED with ``worker_crashed`` (the calls that were on the dead node);
none is lost, none runs more than once; the pool heals onto the new node.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from executors import ray_available
from server_process import ServerProcess
from waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.ray,
    pytest.mark.skipif(ray_available() is not None, reason=str(ray_available())),
]

JOBS = 24
SCRIPT = Path(__file__).with_name("two_node_cluster.py")


class ClusterProcess:
    def __init__(self, log: Path) -> None:
        env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )
        self.state = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the cluster script exited; see its log"
        state: dict[str, Any] = json.loads(line)
        return state

    def send(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        self.state = self._answer()
        return self.state

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, OSError, ValueError):
                self.send("exit")
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterProcess]:
    started = ClusterProcess(tmp_path / "cluster.log")
    yield started
    started.close()


def _actor_raylets(server: ServerProcess, calls: int = 6) -> set[int]:
    """The raylet (node) process each answering actor runs under."""
    parents = set()
    for _ in range(calls):
        answer = server.http.post("/v1/analyze", json={"plugin": "echo"})
        assert answer.status_code == 200, answer.text
        parents.add(psutil.Process(answer.json()["result"]["pid"]).ppid())
    return parents


def test_jobs_survive_the_death_of_the_node_running_their_actors(
    tmp_path: Path, cluster: ClusterProcess
) -> None:
    (first_raylet,) = cluster.state["workers"].values()
    server = ServerProcess(
        tmp_path / "data",
        tmp_path / "server.log",
        env={
            "VISOR_EXECUTOR": "ray",
            "VISOR_RAY_ADDRESS": cluster.state["address"],
            "VISOR_PLUGIN_WORKERS": json.dumps({"echo": 2}),
            "VISOR_JOB_CONCURRENCY": "4",
            "RAY_AUTH_MODE": "disabled",
        },
    ).launch()
    try:
        server.wait_ready()
        assert _actor_raylets(server) == {first_raylet}  # placed on the worker node

        accepted = [server.submit("sleep", seconds=0.4, steps=4) for _ in range(JOBS)]

        def count(status: str) -> int:
            return sum(server.job(j)["status"] == status for j in accepted)

        wait_until(lambda: count("SUCCESS") >= 2 and count("RUNNING") >= 2, "jobs to run")
        cluster.send("kill")  # SIGKILL the worker node while its actors run tools
        (second_raylet,) = cluster.send("add")["workers"].values()

        wait_until(
            lambda: all(server.job(j)["status"] in ("SUCCESS", "FAILED") for j in accepted),
            "every job to end",
            timeout_s=120,
        )
        jobs = [server.job(j) for j in accepted]
        assert all(j["attempts"] == 1 for j in jobs), "a job ran more than once"
        failed = [j for j in jobs if j["status"] == "FAILED"]
        assert failed, "no call was in flight on the dead node"
        assert {j["error"]["details"]["code"] for j in failed} == {"worker_crashed"}
        assert all(j["result"] == {"slept": True} for j in jobs if j["status"] == "SUCCESS")
        assert _actor_raylets(server) == {second_raylet}  # the pool healed on the new node
    finally:
        server.stop()
