"""The SDK's suite runs against a real Visor server (``live_server.LiveServer``: uvicorn in
a thread of the test process, so ``monkeypatch`` on ``ToolRunner.run`` reaches it).

One server per session holds the built-in tools the examples use (in the server process:
these tests are about the client, not isolation) and the ``echo`` test plugin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client_setup import live_settings
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = live_settings(tmp_path_factory.mktemp("sdk") / "data")
    server = LiveServer(
        settings, [*builtin_sources("barcode", "faces", "image_info"), *plugin_sources("echo")]
    )
    yield server.start()
    server.stop()


@pytest.fixture(autouse=True)
def _no_visor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads VISOR_URL and VISOR_API_KEY: tests say what they mean."""
    monkeypatch.delenv("VISOR_URL", raising=False)
    monkeypatch.delenv("VISOR_API_KEY", raising=False)
