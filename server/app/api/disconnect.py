"""Stopping a synchronous call whose client went away.

A route that runs tools in a worker thread keeps running after its client disconnects
unless something listens: once the body is read, the next ASGI message is
``http.disconnect`` (the server sends it when the connection closes). A watcher task waits
for it and sets the call's cancel flag — the flag jobs and MCP use — so ToolRunner stops the
call in flight (a worker process is killed) and the caller stops before its next call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request

from app.plugins.runtime.executor import CallContext


@contextlib.asynccontextmanager
async def cancelled_on_disconnect(request: Request, ctx: CallContext) -> AsyncIterator[None]:
    """Within the block, a disconnect of ``request``'s client cancels ``ctx``. Enter it
    after the body was read (the watcher owns ``receive`` from then on)."""

    async def watch() -> None:
        with contextlib.suppress(Exception):
            while (await request.receive())["type"] != "http.disconnect":
                pass
            ctx.cancel()

    # A bare task, as the MCP door does: the watcher only waits.
    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
