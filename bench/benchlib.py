"""What several benchmarks share: the no-op plugin they time, the timing loop, and real
servers on free ports (started in their own process, waited for until ready)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
    settings given (the caller's own ``VISOR_*`` environment is left out)."""

    def __init__(self, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISOR_")}
        env.update({"VISOR_LOG_LEVEL": "WARNING", **settings})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"],
            env=env,
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
