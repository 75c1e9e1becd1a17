"""CPU cost of authentication per request: ``POST /v1/analyze`` with an API key vs open.

Run: ``python bench/auth_overhead.py``. Builds one Visor app in this process whose database
holds a run key, and drives it through raw ASGI calls (no sockets), alternating batches
with authentication on (``VISOR_AUTH=auto``, the key sent) and off (``VISOR_AUTH=off``: the
open server's path), so both sides are the very same app. Measures process CPU time, not
wall time, so other load on a shared machine disturbs it far less than the HTTP benchmark
(bench/http_throughput.py, which reports the same ratio over real connections). Also times
the middleware alone around an empty app. Prints µs of CPU per request and the throughput
ratio with key / open (target ≥ 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI

from app.auth.exposure import AuthMode
from app.auth.keys import KeyCreate
from app.auth.middleware import AuthMiddleware
from app.auth.scopes import Scope
from app.main import create_app
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings
from benchlib import NoopPlugin

BODY = orjson.dumps({"plugin": "bench_noop", "args": {"n": 1}})


@asynccontextmanager
async def started(keyed: bool) -> AsyncIterator[tuple[FastAPI, str | None]]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tempfile.mkdtemp(prefix="visor-bench-auth-"),
        log_level="WARNING",
        plugin_isolation={"bench_noop": "in_process"},
        _env_file=None,
    )
    app = create_app(
        settings, registry=PluginRegistry(), plugin_sources=[source_for_class(NoopPlugin)]
    )
    async with app.router.lifespan_context(app):
        secret = None
        if keyed:
            request = KeyCreate(
                name="bench", scope=Scope.RUN, rate_per_s=1e9, burst=10**9, max_concurrent=10**6
            )
            secret = app.state.auth.create_key(request).secret
        yield app, secret


async def call(app: FastAPI, headers: list[tuple[bytes, bytes]]) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/analyze",
        "raw_path": b"/v1/analyze",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return status


async def batch(app: FastAPI, headers: list[tuple[bytes, bytes]], n: int, width: int) -> float:
    """CPU µs per request over ``n`` requests, ``width`` in flight at a time."""
    started_cpu = time.process_time()
    for _ in range(n // width):
        statuses = await asyncio.gather(*(call(app, headers) for _ in range(width)))
        if any(s != 200 for s in statuses):
            raise RuntimeError(f"statuses {statuses}")
    return (time.process_time() - started_cpu) / n * 1e6


async def middleware_only(app: FastAPI, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """CPU µs per request of AuthMiddleware itself, around an app that does nothing."""

    async def empty(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    middleware = AuthMiddleware(empty, auth=app.state.auth, router=app.router)
    scope = {"type": "http", "method": "POST", "path": "/v1/analyze", "client": ("10.0.0.1", 1)}
    started_cpu = time.process_time()
    for _ in range(n):
        await middleware({**scope, "headers": headers}, receive, send)
    return (time.process_time() - started_cpu) / n * 1e6


async def main_async(rounds: int, requests: int, width: int) -> None:
    base = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    async with started(keyed=True) as (app, secret):
        assert secret is not None
        auth = app.state.auth
        keyed = [*base, (b"authorization", f"Bearer {secret}".encode())]
        sides = {"open": (AuthMode.OFF, base), "key": (AuthMode.AUTO, keyed)}
        samples: dict[str, list[float]] = {"open": [], "key": []}
        alone: dict[str, list[float]] = {"open": [], "key": []}
        for round_no in range(rounds + 1):  # round 0 warms up
            for name, (mode, headers) in sides.items():
                auth.mode = mode
                per_request = await batch(app, headers, requests, width)
                per_middleware = await middleware_only(app, headers, requests * 5)
                if round_no:
                    samples[name].append(per_request)
                    alone[name].append(per_middleware)
    open_us = statistics.median(samples["open"])
    key_us = statistics.median(samples["key"])
    paired = [o / k for o, k in zip(samples["open"], samples["key"], strict=True)]
    mw_open, mw_key = statistics.median(alone["open"]), statistics.median(alone["key"])
    print(f"open      : {open_us:8.1f} µs CPU/request  (rounds: " + _fmt(samples["open"]) + ")")
    print(f"with key  : {key_us:8.1f} µs CPU/request  (rounds: " + _fmt(samples["key"]) + ")")
    print(f"middleware alone: {mw_open:.1f} µs open, {mw_key:.1f} µs with key")
    print(f"ratio with key/open (throughput): {open_us / key_us:6.3f}  (target ≥ 0.95)")
    print(f"  per round (paired), median     : {statistics.median(paired):6.3f}")
    print(f"  from the middleware's own cost : {open_us / (open_us + mw_key - mw_open):6.3f}")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--width", type=int, default=16)
    opts = parser.parse_args()
    asyncio.run(main_async(opts.rounds, opts.requests, opts.width))


if __name__ == "__main__":
    main()
