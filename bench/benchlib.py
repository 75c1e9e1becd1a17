"""What several benchmarks share: the no-op plugin they time, the timing loops, real servers
on free ports (started in their own process, waited for until ready), raw HTTP responses
and job throughput."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.plugins.base import Plugin, tool


def noop(args: dict[str, Any]) -> dict[str, Any]:
    """The work both sides of a comparison do: nothing."""
    return {}


class NoopPlugin(Plugin):
    name = "bench_noop"
    version = "1"

    @tool(
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
        output_schema={"type": "object"},
    )
    def noop(self, args: dict) -> dict:
        return noop(args)


#: The operator's choice that runs the no-op in the server process (a plugin cannot ask).
IN_PROCESS = {NoopPlugin.name: "in_process"}


def per_call_us(fn: Callable[[], object], calls: int, batches: int) -> float:
    """Median over ``batches`` of the mean µs per call of ``calls`` back-to-back calls."""
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 90.0
) -> None:
    """Poll ``url``'s ``/v1/ready`` until it answers 200; exit with a message if the
    server process ends first or ``timeout_s`` passes."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server at {url} did not become ready in {timeout_s:.0f} s")


class VisorServer:
    """``uvicorn app.main:app`` in its own process, configured only by the ``VISOR_*``
    settings given (the caller's own ``VISOR_*`` environment is left out).

    ``factory`` (``"module:function"`` of a module in this directory) serves the app that
    function builds instead, e.g. Visor beside a bare endpoint; ``env`` adds variables that
    are not settings."""

    def __init__(
        self, *, factory: str | None = None, env: dict[str, str] | None = None, **settings: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("VISOR_")}
        environ.update({"VISOR_LOG_LEVEL": "WARNING", **(env or {}), **settings})
        target = ["app.main:app"]
        if factory is not None:
            here = os.path.dirname(os.path.abspath(__file__))
            environ["PYTHONPATH"] = os.pathsep.join([here, environ.get("PYTHONPATH", "")])
            target = [factory, "--factory"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *target, "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"],
            env=environ,
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 90.0) -> VisorServer:
        try:
            wait_ready(self.url, self.proc, timeout_s)
        except SystemExit:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response off a keep-alive connection: its status and body (the load
    generators speak raw HTTP so that the client's own cost stays out of the numbers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


def calls_per_second(call: Callable[[], object], clients: int, calls: int) -> float:
    """Calls per second with ``clients`` threads each making ``calls`` back-to-back calls."""

    def client() -> None:
        for _ in range(calls):
            call()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients * calls / (time.perf_counter() - started)


def jobs_per_second(url: str, ids: list[str]) -> float:
    """Wait until no job on the server at ``url`` is waiting or running, check that the
    jobs ``ids`` all succeeded, and return how many finished per second, first created to
    last finished (the server's own timestamps)."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        while any(
            client.get("/v1/jobs", params={"status": s, "limit": 1}).json()["jobs"]
            for s in ("PENDING", "RUNNING")
        ):
            time.sleep(0.1)
        finished = [client.get(f"/v1/jobs/{job_id}").json() for job_id in ids]
    assert all(j["status"] == "SUCCESS" for j in finished), finished[0]
    start = min(datetime.fromisoformat(j["created_at"]) for j in finished)
    end = max(datetime.fromisoformat(j["finished_at"]) for j in finished)
    return len(finished) / (end - start).total_seconds()
