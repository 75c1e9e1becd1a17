"""Serving the app with uvicorn, with a shutdown that keeps its deadline.

uvicorn runs an app's lifespan shutdown only after every open request has finished, and
by default waits for them forever: a request stuck on a tool held a SIGTERM'd server for
as long as the tool ran (issue 10). Here the app hears about the shutdown the moment it
starts (:class:`VisorServer`), so its stop sequence — jobs stop claiming and are requeued,
tool calls get ``shutdown_timeout_s`` and are then cancelled (their workers killed, their
clients answered with an envelope) — runs *while* uvicorn drains the connections. A
backstop makes uvicorn itself give up on what is left (an event stream, a slow client) a
few seconds after the deadline, and the process exits.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http_protocol import ConnectionLimits, GuardedHttpProtocol, protocol_with

log = logging.getLogger("visor")

#: How long after the app's deadline uvicorn cancels the connections still open.
BACKSTOP_S = 5.0


class GracefulStop:
    """The app's stop sequence, run once, by whoever asks first.

    The steps run in parallel threads, so each gets the whole deadline (they bound their
    own waits). :meth:`begin` returns at once (the server is starting to shut down);
    :meth:`run` waits for the end (the lifespan is ending).
    """

    def __init__(self, steps: Sequence[Callable[[], None]]) -> None:
        self._steps = list(steps)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] | None = None

    def begin(self) -> None:
        with self._lock:
            if self._threads is not None:
                return
            self._threads = [
                threading.Thread(target=self._step, args=(step,), name="visor-stop", daemon=True)
                for step in self._steps
            ]
            for thread in self._threads:
                thread.start()

    def run(self) -> None:
        self.begin()
        for thread in self._threads or []:
            thread.join()

    @staticmethod
    def _step(step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:  # one failing step must not keep the others from stopping
            log.exception("a shutdown step failed")


class RequestsInFlight:
    """Counts the HTTP requests the app is handling, so the stop sequence can let them in.

    uvicorn stops accepting connections when shutdown begins, but a request it already
    accepted may still be on its way to a tool (reading its body, waiting for a thread).
    Closing the executors at once refused such calls with 503 ``plugin is stopping`` (issue
    24: 2 of 20 in-flight calls); the stop sequence now waits for these requests (bounded
    by its deadline) before the executors refuse anything. :class:`CountRequests` keeps
    the count: two integer updates per request, on the event loop.
    """

    def __init__(self) -> None:
        self.count = 0

    def wait_idle(self, deadline: float) -> bool:
        """Wait (from a stop thread) until no request is in flight or ``deadline``
        (``time.monotonic()``) passed; True if they all finished."""
        while self.count > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(_IDLE_POLL_S, left))
        return True


class CountRequests:
    """Pure ASGI middleware: every HTTP request counts in ``requests`` while it runs."""

    def __init__(self, app: ASGIApp, *, requests: RequestsInFlight) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.requests.count -= 1


_IDLE_POLL_S = 0.02

_stopping: weakref.WeakSet[GracefulStop] = weakref.WeakSet()


def register(stop: GracefulStop) -> Callable[[], None]:
    """Let a server in this process start ``stop`` when it shuts down; returns the undo."""
    _stopping.add(stop)
    return lambda: _stopping.discard(stop)


def begin_shutdown() -> None:
    """Start the stop sequence of every app served by this process."""
    for stop in list(_stopping):
        stop.begin()


def widen_thread_pool(tokens: int) -> None:
    """Let the event loop's default thread pool hold ``tokens`` threads at once.

    Every sync route and MCP call waits for its tool on one of these threads (anyio's
    default: 40). A call queued for a slow plugin holds its thread while it waits, so with
    fewer threads than the plugins' queues, one plugin's backlog would take every thread and
    starve the others. Call from the running loop (the lifespan).
    """
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    if tokens > limiter.total_tokens:
        limiter.total_tokens = tokens


class VisorServer(uvicorn.Server):
    """uvicorn, telling the app when shutdown starts rather than when requests are done."""

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        begin_shutdown()
        await super().shutdown(sockets=sockets)


def port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (another server has it), or ``None``.

    Checked before the app starts: uvicorn finds out only after the lifespan has loaded and
    started every plugin, seconds later, and then fails with a bind error."""
    try:
        with socket.create_server((host, port), reuse_port=False):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    shutdown_timeout_s: float,
    limits: ConnectionLimits | None = None,
    **options: Any,
) -> None:
    """Run ``app`` (an ASGI app or an import string) until SIGINT/SIGTERM.

    Connections are served by :class:`~app.http_protocol.GuardedHttpProtocol` (header
    limits and deadline, half-close answered) with ``limits``, or the ``VISOR_*`` settings.

    With several server processes uvicorn's supervisor builds plain servers in its
    children, so there the backstop alone bounds the shutdown: at the deadline uvicorn
    cancels open requests, then each app's stop sequence gets its own deadline.
    """
    backstop = math.ceil(max(0.0, shutdown_timeout_s) + BACKSTOP_S)  # uvicorn takes whole seconds
    multi = options.get("workers", 1) > 1
    # Several processes import the protocol by name and read the limits from VISOR_*.
    options.setdefault(
        "http", GuardedHttpProtocol if multi or limits is None else protocol_with(limits)
    )
    try:
        if multi:
            deadline = math.ceil(max(0.0, shutdown_timeout_s))
            uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=deadline, **options)
            return
        config = uvicorn.Config(
            app, host=host, port=port, timeout_graceful_shutdown=backstop, **options
        )
        VisorServer(config).run()
    except KeyboardInterrupt:
        # uvicorn re-raises the SIGINT it handled once its shutdown is over, so that an
        # embedding program hears of it; asyncio turns that into KeyboardInterrupt and its
        # traceback reached the console of every Ctrl-C'd server. The shutdown is done:
        # this is the ordinary end of serving.
        log.debug("server stopped by SIGINT")
