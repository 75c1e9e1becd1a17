"""µs per ``POST /v1/analyze`` inside one process, no network: the fastest of several
batches of sequential requests through the whole ASGI app (middleware, auth, route,
ToolRunner, a no-op in-process tool). The fastest batch is the one other processes on a
shared machine disturbed least, so two revisions compare to within a fraction of a percent
where requests/s over sockets swing by a quarter. bench/tracing_off.py runs it for each
revision; ``python bench/asgi_probe.py [REQUESTS BATCHES]`` prints one number.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from http_app import build

_BODY = json.dumps({"plugin": "bench_noop", "args": {"n": 1}}).encode()


async def _lifespan(app: Any, state: dict[str, Any]) -> tuple[asyncio.Queue[Any], Any]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.create_task(app(scope, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    return inbox, task


async def _request(app: Any, state: dict[str, Any]) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/analyze", "raw_path": b"/v1/analyze", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(_BODY)).encode())],
        "state": dict(state),
    }  # fmt: skip
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": _BODY, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def probe(requests: int, batches: int) -> float:
    app = build()
    state: dict[str, Any] = {}
    inbox, lifespan = await _lifespan(app, state)
    for _ in range(500):  # warm up
        assert await _request(app, state) == 200
    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(requests):
            await _request(app, state)
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    await inbox.put({"type": "lifespan.shutdown"})
    await lifespan
    return best


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    print(f"{asyncio.run(probe(count, rounds)):.2f}")
