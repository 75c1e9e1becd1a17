"""A real ``visor serve`` in its own process, for tests that kill -9 it and restart it on the
same data directory (SQLite) or the same database (PostgreSQL), or run several of them
against one database and one Ray cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from live_server import free_port
from waiting import wait_until

_START_TIMEOUT_S = 90.0


class ServerProcess:
    """``python -m app serve`` in its own process, with the echo test plugin only (or the
    plugins ``allowlist`` names, and more ``VISOR_*`` settings in ``env``)."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        database_url: str | None = None,
        *,
        allowlist: str = "visor_test_echo",
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.allowlist = allowlist
        self.extra_env = dict(env or {})
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30.0)

    def start(self) -> ServerProcess:
        """Launch and wait until it is ready."""
        return self.launch().wait_ready()

    def launch(self) -> ServerProcess:
        """Start the process without waiting (several servers can then start together)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISOR_")}
        env.update(
            VISOR_PLUGINS_ALLOWLIST=self.allowlist,
            VISOR_JOB_CONCURRENCY="3",
            VISOR_LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
        if self.database_url:
            env["VISOR_DATABASE_URL"] = self.database_url
        cmd = [sys.executable, "-m", "app", "serve", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=self.data_dir.parent, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self) -> ServerProcess:
        wait_until(self._ready, f"server on port {self.port} to be ready", _START_TIMEOUT_S)
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited: {self.log_path.read_text()[-3000:]}")
        try:
            return self.http.get("/v1/ready").status_code == 200
        except httpx.TransportError:
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.http.close()

    # -- client calls -----------------------------------------------------------------------

    def submit(self, tool: str, max_attempts: int | None = None, **args: Any) -> str:
        body: dict[str, Any] = {"plugin": "echo", "tool": tool, "args": args}
        if max_attempts is not None:
            body["max_attempts"] = max_attempts
        response = self.http.post("/v1/jobs", json=body)
        assert response.status_code == 202, response.text
        job_id: str = response.json()["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job

    def all_jobs(self) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.http.get("/v1/jobs", params=params).json()
            jobs.update({j["id"]: j for j in page["jobs"]})
            cursor = page["next_cursor"]
            if cursor is None:
                return jobs
