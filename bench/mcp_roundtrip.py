"""MCP tool-call round trip vs the same call through ``POST /v1/analyze``.

Run: ``python bench/mcp_roundtrip.py``. Starts one uvicorn server process (the app of
bench/http_app.py, no-op tool ``bench_noop.noop``), then, from one client process, times
sequential round trips through every door, one call per door in turn (rotating order) so
load on a shared machine hits all of them equally:

- REST: httpx keep-alive ``POST /v1/analyze``;
- MCP: the official ``mcp`` client, one connection, ``call_tool("bench_noop.noop")``, in
  the stateless 2026 protocol (default) and the ``initialize``-era legacy protocol;
- MCP wire: the same 2026 ``tools/call`` posted by httpx, to separate the server's cost
  from the client SDK's.

Prints the median latency of each and the ratios to REST. The target (issue 15: "the same
call through /mcp costs close to REST") is on the same-client comparison, MCP wire / REST
p50 ≤ 1.15 (issue 28; 1.2 in issue 15): the same HTTP client posting the same tool call
to both doors, so the ratio is the server's cost. The official client's ratio adds the
MCP client SDK's own per-call work and is printed for information.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchlib import free_port, wait_ready

TARGET = 1.15


def serve(port: int) -> None:
    import uvicorn

    from http_app import build

    uvicorn.run(build(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


async def measure(url: str, rounds: int, per_round: int, warmup: int) -> dict[str, list[float]]:
    import httpx

    from mcp import Client

    body = {"plugin": "bench_noop", "tool": "noop", "args": {}}
    samples: dict[str, list[float]] = {"rest": [], "mcp": [], "mcp-legacy": [], "mcp-wire": []}
    version = "2026-07-28"
    wire_body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "bench_noop.noop",
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": version,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    wire_headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": version,
        "mcp-method": "tools/call",
        "mcp-name": "bench_noop.noop",
    }
    async with (
        httpx.AsyncClient(base_url=url) as http,
        Client(f"{url}/mcp") as modern,
        Client(f"{url}/mcp", mode="legacy") as legacy,
    ):

        async def rest() -> None:
            response = await http.post("/v1/analyze", json=body)
            response.raise_for_status()

        async def mcp_modern() -> None:
            result = await modern.call_tool("bench_noop.noop", {})
            assert not result.is_error

        async def mcp_legacy() -> None:
            result = await legacy.call_tool("bench_noop.noop", {})
            assert not result.is_error

        async def mcp_wire() -> None:
            response = await http.post("/mcp", json=wire_body, headers=wire_headers)
            assert response.json()["result"]["isError"] is False

        doors = {"rest": rest, "mcp": mcp_modern, "mcp-legacy": mcp_legacy, "mcp-wire": mcp_wire}
        for call in doors.values():
            await timed(call, warmup)
        names = list(doors)
        for i in range(rounds * per_round):
            # One call per door in turn, in a rotating order: on a busy machine every door
            # sees the same load, call for call.
            for name in names[i % len(names) :] + names[: i % len(names)]:
                samples[name].extend(await timed(doors[name], 1))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    port = free_port()
    env = {**os.environ, "VISOR_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, timeout_s=60)
        samples = asyncio.run(measure(url, args.rounds, args.per_round, args.warmup))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)

    rest = statistics.median(samples["rest"])
    print(f"calls per door: {len(samples['rest'])} (sequential, one connection, same server)")
    for name, values in samples.items():
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"  {name:<10} median {statistics.median(values):7.3f} ms   p95 {p95:7.3f} ms")
    wire_ratio = statistics.median(samples["mcp-wire"]) / rest
    verdict = "OK" if wire_ratio <= TARGET else "ABOVE TARGET"
    print(
        f"ratio MCP/REST, same client (median): {wire_ratio:.2f}x  [target <= {TARGET}x: {verdict}]"
    )
    for name, label in (("mcp", "official client, 2026"), ("mcp-legacy", "official, legacy")):
        ratio = statistics.median(samples[name]) / rest
        print(f"ratio MCP/REST, {label} (median, includes the client SDK): {ratio:.2f}x")


if __name__ == "__main__":
    main()
