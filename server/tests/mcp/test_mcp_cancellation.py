"""Cancelling MCP tool calls stops the tool: by ``notifications/cancelled`` and by disconnect.

The tool is ``blocking.block`` on a one-worker, process-isolated plugin: it writes its
worker's pid to a marker file (so the test knows the call reached the worker) and then
sleeps for an hour, ignoring ``ctx.cancelled``. Only killing the worker stops it, so "the
next call to the same plugin is served by a new worker" proves the cancel really stopped
the tool; the call is counted as cancelled in the registry and in Prometheus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import psutil
import pytest
from helpers import plugin_sources
from live_server import LiveServer
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families
from visor_test_plugins.blocking import BlockingPlugin

from app.plugins.loader.plugin_loader import source_for_class
from app.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

LEGACY, MODERN = "2025-11-25", "2026-07-28"
ERAS = {"legacy": LEGACY, "modern": MODERN}
USER_AGENT = "visor-cancellation-test"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-cancel") / "data",
        tool_timeouts={"blocking": 600},  # far beyond any test: only a cancel ends a block
        _env_file=None,
    )
    sources = [source_for_class(BlockingPlugin), *plugin_sources("echo")]
    server = LiveServer(settings, sources).start()
    yield server
    server.stop()


def _request(era: str, request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A raw ``tools/call`` POST of the given protocol era: body and headers."""
    version = ERAS[era]
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    headers = {"mcp-protocol-version": version}
    if era == "modern":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers |= {"mcp-method": "tools/call", "mcp-name": tool}
    body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    return {"content": orjson.dumps(body), "headers": headers}


def _cancel(era: str, request_id: int) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request_id, "reason": "the user changed their mind"},
    }
    return {"content": orjson.dumps(body), "headers": {"mcp-protocol-version": ERAS[era]}}


def _http(live: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=live.url,
        timeout=90,
        headers={
            "user-agent": USER_AGENT,
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        },
    )


async def _eventually(predicate: Callable[[], bool]) -> None:
    """Wait for ``predicate`` (the module's timeout bounds a test that never gets there)."""
    while not predicate():
        await anyio.sleep(0.02)


def _cancelled(live: LiveServer) -> int:
    return int(live.app.state.registry.health("blocking").tools["block"].cancelled)


def _prometheus_cancelled(live: LiveServer) -> float:
    text = httpx.get(f"{live.url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "visor_tool_calls_total"
                and labels.get("plugin") == "blocking"
                and labels.get("tool") == "block"
                and labels.get("code") == "cancelled"
            ):
                return float(sample.value)
    return 0.0


async def _next_pid(live: LiveServer) -> int:
    async with Client(live.mcp_url) as client:
        result = await client.call_tool("blocking.pid", {})
    assert not result.is_error and result.structured_content is not None
    return int(result.structured_content["pid"])


async def _assert_stopped(live: LiveServer, worker_pid: int, cancelled_before: int) -> None:
    """The blocked worker is gone, the call counted as cancelled, and the plugin serves."""
    await _eventually(lambda: _cancelled(live) == cancelled_before + 1)
    assert await _next_pid(live) != worker_pid  # a new worker: the blocked one was killed
    assert not psutil.pid_exists(worker_pid) or psutil.Process(worker_pid).status() == "zombie"
    health = live.app.state.registry.health("blocking")
    assert health.cancelled_count >= 1


@pytest.mark.parametrize("era", list(ERAS))
async def test_notifications_cancelled_stops_the_tool(
    live: LiveServer, era: str, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    before, prometheus_before = _cancelled(live), _prometheus_cancelled(live)
    answers: list[httpx.Response] = []
    async with _http(live) as caller, _http(live) as canceller:

        async def call() -> None:
            request = _request(era, 7, "blocking.block", {"marker": str(marker)})
            answers.append(await caller.post("/mcp", **request))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await _eventually(marker.exists)
            worker_pid = int(marker.read_text())
            accepted = await canceller.post("/mcp", **_cancel(era, 7))
            assert accepted.status_code == 202
        # The open call was answered once its tool stopped.

    (answer,) = answers
    result = answer.json()["result"]
    assert result["isError"] is True
    error = orjson.loads(result["content"][0]["text"])["error"]
    assert error["details"]["code"] == "cancelled"
    await _assert_stopped(live, worker_pid, before)
    assert _prometheus_cancelled(live) == prometheus_before + 1


async def test_a_cancel_from_another_caller_is_ignored(live: LiveServer, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    async with _http(live) as caller, _http(live) as stranger, anyio.create_task_group() as tg:
        answers: list[httpx.Response] = []

        async def call() -> None:
            request = _request("legacy", 3, "blocking.block", {"marker": str(marker)})
            answers.append(await caller.post("/mcp", **request))

        tg.start_soon(call)
        await _eventually(marker.exists)
        refused = _cancel("legacy", 3)
        refused["headers"] = refused["headers"] | {"user-agent": "another-agent"}
        assert (await stranger.post("/mcp", **refused)).status_code == 202
        assert len(live.app.state.mcp.in_flight) == 1  # still running
        assert (await stranger.post("/mcp", **_cancel("legacy", 3))).status_code == 202
    assert answers[0].json()["result"]["isError"] is True


@pytest.mark.parametrize("era", list(ERAS))
async def test_disconnect_cancels_a_plain_json_call(
    live: LiveServer, era: str, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    before = _cancelled(live)
    async with _http(live) as caller, anyio.create_task_group() as tg:
        request = _request(era, 11, "blocking.block", {"marker": str(marker)})
        tg.start_soon(lambda: caller.post("/mcp", **request))
        await _eventually(marker.exists)
        worker_pid = int(marker.read_text())
        tg.cancel_scope.cancel()  # the client gives up: its connection is closed
    await _assert_stopped(live, worker_pid, before)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_official_client_cancelling_a_call_stops_the_tool(
    live: LiveServer, mode: str, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    before = _cancelled(live)
    async with Client(live.mcp_url, mode=mode) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "blocking.block", {"marker": str(marker)})
            await _eventually(marker.exists)
            worker_pid = int(marker.read_text())
            tg.cancel_scope.cancel()
        await _assert_stopped(live, worker_pid, before)
        echoed = await client.call_tool("echo.echo", {"text": "still here"})
    assert echoed.structured_content is not None
    assert echoed.structured_content["text"] == "still here"
