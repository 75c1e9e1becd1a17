"""Stateless MCP: two replicas take turns answering one client's requests."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import httpx2
import pytest
from helpers import plugin_sources
from live_server import LiveServer
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.settings import Settings

pytestmark = pytest.mark.anyio


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica, like a load balancer without affinity."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.served: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._ports)
        self.served[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def replicas(settings: Settings) -> Iterator[list[LiveServer]]:
    servers = [LiveServer(settings, plugin_sources("echo")).start() for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_any_replica_answers_any_request(replicas: list[LiveServer], mode: str) -> None:
    balancer = RoundRobin([server.port for server in replicas])
    async with (
        httpx2.AsyncClient(transport=balancer) as http,
        Client(streamable_http_client(replicas[0].mcp_url, http_client=http), mode=mode) as client,
    ):
        listed = await client.list_tools()
        results = [await client.call_tool("echo.echo", {"text": str(i)}) for i in range(4)]

    assert "echo.echo" in {tool.name for tool in listed.tools}
    assert [r.structured_content["text"] for r in results if r.structured_content] == [
        "0",
        "1",
        "2",
        "3",
    ]
    assert all(count >= 2 for count in balancer.served.values())
    assert set(balancer.served) == {server.port for server in replicas}
