"""A live Visor server for the MCP tests, shared by the module (startup is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer

from app.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """echo, raises, an UNAVAILABLE plugin and image_info, served on a free port."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp") / "data", force_in_process=True, _env_file=None
    )
    sources = [*plugin_sources("echo", "raises", "import_fails"), *builtin_sources("image_info")]
    server = LiveServer(settings, sources).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_live(settings: Settings) -> Iterator[LiveServer]:
    """A server of its own, for tests that change plugin state."""
    server = LiveServer(settings, plugin_sources("echo", "raises")).start()
    yield server
    server.stop()
