"""Progress that moves: a long call with a quiet tool still reports at a steady cadence,
so hosts that reset their timeout on progress keep it alive."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from live_server import LiveServer
from mcp import Client
from pydantic import BaseModel

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.loader.plugin_loader import source_for_class
from app.settings import Settings

pytestmark = pytest.mark.anyio

RELEASE = threading.Event()
_WAIT_S = 30  # bounds a hang; the test releases the tool long before


class Empty(BaseModel):
    pass


class QuietPlugin(Plugin):
    """Stands for a long OCR or detection call: one early progress report, then silence
    until the test lets it finish."""

    name = "quiet"
    version = "1.0.0"
    description = "Reports once, then works quietly."
    isolation = "in_process"

    @tool(description="Work quietly until released.")
    def work(self, args: Empty, ctx: ToolContext) -> dict[str, bool]:
        ctx.progress(0.1, "decoded")
        return {"released": RELEASE.wait(_WAIT_S)}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-cadence") / "data",
        force_in_process=True,
        mcp_progress_interval_s=0.2,
        tool_timeouts={"quiet": 300},
        _env_file=None,
    )
    server = LiveServer(settings, [source_for_class(QuietPlugin)]).start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_quiet_long_call_keeps_reporting(live: LiveServer, mode: str) -> None:
    RELEASE.clear()
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))
        if len(seen) >= 5:  # the tool's own report and four heartbeats in its silence
            RELEASE.set()

    async with Client(live.mcp_url, mode=mode) as client:
        result = await client.call_tool("quiet.work", {}, progress_callback=on_progress)

    assert not result.is_error and result.structured_content == {"released": True}
    assert seen[0] == (0.1, "decoded")
    values = [value for value, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)  # always increasing
    assert all(value < 1.0 for value in values)
    assert all("decoded; still working" in (message or "") for _, message in seen[1:5])
