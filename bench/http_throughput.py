"""HTTP throughput of ``POST /v1/analyze`` (no-op tool) vs a bare FastAPI endpoint.

Run: ``python bench/http_throughput.py``. Starts one uvicorn server (bench/http_app.py) holding both
endpoints, then drives them alternately, round after round, from one asyncio load
generator with keep-alive connections. Prints requests/s for each (median over rounds)
and the ratio analyze/bare. Target: ≥ 0.90.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(port: int, path: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _connection(port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"status {status}")
            counts[0] += 1
    finally:
        writer.close()


async def _drive(port: int, request: bytes, seconds: float, connections: int) -> float:
    counts = [0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, request, deadline, counts) for _ in range(connections))
    )
    return counts[0] / (time.perf_counter() - started)


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    import urllib.request

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    opts = parser.parse_args()

    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "http_app:build",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=HERE,
        env=env,
    )
    try:
        _wait_ready(port)
        body = {"plugin": "bench_noop", "args": {"n": 1}}
        analyze = _request(port, "/v1/analyze", body)
        bare = _request(port, "/bench/bare", body)
        asyncio.run(_drive(port, analyze, 1.0, opts.connections))  # warm up
        asyncio.run(_drive(port, bare, 1.0, opts.connections))
        results: dict[str, list[float]] = {"analyze": [], "bare": []}
        for _ in range(opts.rounds):
            for name, request in (("bare", bare), ("analyze", analyze)):
                results[name].append(
                    asyncio.run(_drive(port, request, opts.seconds, opts.connections))
                )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    bare_rps = statistics.median(results["bare"])
    analyze_rps = statistics.median(results["analyze"])
    print(
        f"bare FastAPI endpoint : {bare_rps:9.0f} req/s  (rounds: "
        + ", ".join(f"{r:.0f}" for r in results["bare"])
        + ")"
    )
    print(
        f"POST /v1/analyze      : {analyze_rps:9.0f} req/s  (rounds: "
        + ", ".join(f"{r:.0f}" for r in results["analyze"])
        + ")"
    )
    print(f"ratio analyze/bare    : {analyze_rps / bare_rps:9.3f}  (target ≥ 0.90)")


if __name__ == "__main__":
    main()
