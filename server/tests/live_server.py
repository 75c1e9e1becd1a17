"""A real Visor server on a free loopback port, for tests that speak HTTP like clients do.

:class:`LiveServer` runs uvicorn in a background thread of the test process, so
``monkeypatch`` (e.g. on ``ToolRunner.run``) reaches the server's calls. Readiness is
awaited on uvicorn's own ``started`` flag, not on a sleep.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from app.main import create_app
from app.plugins.loader.plugin_loader import PluginSource
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings

_START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    settings: Settings
    sources: Sequence[PluginSource] | None = None
    port: int = field(default_factory=free_port)
    app: Any = field(init=False)
    _server: uvicorn.Server | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings, registry=PluginRegistry(), plugin_sources=self.sources)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def start(self) -> LiveServer:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            server_header=False,  # as `visor serve` runs it
        )
        server = uvicorn.Server(config)  # off the main thread it installs no signal handlers
        thread = threading.Thread(target=server.run, name=f"visor-live-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            server.should_exit = True
            raise RuntimeError(f"live server on port {self.port} did not start")
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15.0)
        self._server = self._thread = None
