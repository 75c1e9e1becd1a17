"""HTTP throughput of ``POST /v1/analyze`` (no-op tool) vs a bare FastAPI endpoint, and
with an API key vs without.

Run: ``python bench/http_throughput.py``. Starts two uvicorn servers (bench/http_app.py):
an open one (no key, loopback: the embedded default) holding both endpoints, and one whose
database holds an API key, so authentication is on. Drives the three in turn, round after
round, from one asyncio load generator with keep-alive connections. Prints requests/s for
each (median over rounds), the ratio analyze/bare (target ≥ 0.90) and the ratio
authenticated/open analyze (target ≥ 0.95), also as the median of per-round ratios (each
round runs the two back to back, which is steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchlib import VisorServer, read_response

HERE = Path(__file__).resolve().parent


def _request(port: int, path: str, body: dict[str, object], key: str | None = None) -> bytes:
    data = json.dumps(body).encode()
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _connection(port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            status, _ = await read_response(reader)
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


def _keyed_data_dir() -> tuple[str, str]:
    """A data directory whose database holds one run key (quotas high enough not to bind)."""
    from app.auth.keys import KeyCreate
    from app.auth.scopes import Scope
    from app.auth.store import KeyStore
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    data_dir = tempfile.mkdtemp(prefix="visor-bench-auth-")
    engine = build_engine(f"sqlite:///{data_dir}/visor.sqlite3")
    upgrade(engine)
    request = KeyCreate(
        name="bench", scope=Scope.RUN, rate_per_s=1e9, burst=10**9, max_concurrent=10**6
    )
    secret = KeyStore(engine).create(request).secret
    engine.dispose()
    return data_dir, secret


def _print(label: str, values: list[float]) -> None:
    rounds = ", ".join(f"{r:.0f}" for r in values)
    print(f"{label:<26}: {statistics.median(values):9.0f} req/s  (rounds: {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    opts = parser.parse_args()

    data_dir, key = _keyed_data_dir()
    servers = [
        VisorServer(factory="http_app:build"),
        VisorServer(factory="http_app:build", env={"BENCH_DATA_DIR": data_dir}),
    ]
    port, auth_port = servers[0].port, servers[1].port
    try:
        for server in servers:
            server.wait_ready(timeout_s=30)
        body = {"plugin": "bench_noop", "args": {"n": 1}}
        requests = {
            "bare": (port, _request(port, "/bench/bare", body)),
            "analyze": (port, _request(port, "/v1/analyze", body)),
            "analyze+key": (auth_port, _request(auth_port, "/v1/analyze", body, key)),
        }
        for target, request in requests.values():  # warm up
            asyncio.run(_drive(target, request, 1.0, opts.connections))
        results: dict[str, list[float]] = {name: [] for name in requests}
        for _ in range(opts.rounds):
            for name, (target, request) in requests.items():
                results[name].append(
                    asyncio.run(_drive(target, request, opts.seconds, opts.connections))
                )
    finally:
        for server in servers:
            server.stop()

    bare_rps = statistics.median(results["bare"])
    analyze_rps = statistics.median(results["analyze"])
    keyed_rps = statistics.median(results["analyze+key"])
    _print("bare FastAPI endpoint", results["bare"])
    _print("POST /v1/analyze (open)", results["analyze"])
    _print("POST /v1/analyze (API key)", results["analyze+key"])
    print(f"{'ratio analyze/bare':<26}: {analyze_rps / bare_rps:9.3f}  (target ≥ 0.90)")
    paired = [k / o for k, o in zip(results["analyze+key"], results["analyze"], strict=True)]
    print(f"{'ratio with key/open':<26}: {keyed_rps / analyze_rps:9.3f}  (target ≥ 0.95)")
    print(
        f"{'  per round (paired)':<26}: {statistics.median(paired):9.3f}  (rounds: "
        + ", ".join(f"{r:.2f}" for r in paired)
        + ")"
    )


if __name__ == "__main__":
    main()
