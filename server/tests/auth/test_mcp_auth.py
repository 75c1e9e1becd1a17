"""MCP with the official Python client: no key is refused, read lists, run calls."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from auth_helpers import Keys, bearer, mcp_client, start_secured_live
from helpers import png_bytes
from live_server import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def secured_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys]]:
    server, keys = start_secured_live(tmp_path_factory.mktemp("mcp-auth") / "data")
    yield server, keys
    server.stop()


async def test_no_key_is_refused(secured_live: tuple[LiveServer, Keys]) -> None:
    server, keys = secured_live
    for headers in ({}, bearer(keys.revoked), bearer(keys.expired)):
        statuses: list[int] = []
        with pytest.raises(Exception):  # noqa: B017 (the SDK wraps the HTTP error in groups)
            async with mcp_client(server, headers, statuses) as client:
                await client.list_tools()
        assert statuses and set(statuses) == {401}, statuses
    raw = httpx2.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert raw.status_code == 401
    assert raw.headers["www-authenticate"].startswith("Bearer")
    assert raw.json()["error"]["data"]["error"]["details"]["code"] == "unauthorized"  # JSON-RPC


async def test_read_key_lists_but_cannot_call(secured_live: tuple[LiveServer, Keys]) -> None:
    server, keys = secured_live
    async with mcp_client(server, bearer(keys.read)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert "echo.echo" in listed
        refused = await client.call_tool("echo.echo", {"text": "hi"})
    assert refused.is_error
    text = refused.content[0].text  # type: ignore[union-attr]
    assert '"forbidden"' in text and "running tools needs run" in text


async def test_run_key_calls_tools(secured_live: tuple[LiveServer, Keys]) -> None:
    server, keys = secured_live
    async with mcp_client(server, {"X-API-Key": keys.run}) as client:
        result = await client.call_tool("echo.echo", {"text": "hi"})
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["text"] == "hi"


async def test_each_key_sees_only_its_uploads_as_mcp_resources(
    secured_live: tuple[LiveServer, Keys],
) -> None:
    """Ownership through MCP: files uploaded over REST by one key are that key's resources."""
    server, keys = secured_live
    uploaded: dict[str, str] = {}
    for name in ("run", "run2"):
        response = httpx2.post(
            f"{server.url}/v1/files",
            files={"file": (f"{name}.png", png_bytes(), "image/png")},
            headers=bearer(getattr(keys, name)),
        )
        assert response.status_code == 201, response.text
        uploaded[name] = response.json()["id"]

    for name, other in (("run", "run2"), ("run2", "run")):
        async with mcp_client(server, bearer(getattr(keys, name))) as client:
            listed = [str(r.uri) for r in (await client.list_resources()).resources]
            assert any(uploaded[name] in uri for uri in listed), listed
            assert not any(uploaded[other] in uri for uri in listed), listed
    async with mcp_client(server, bearer(keys.admin)) as client:
        admin_sees = [str(r.uri) for r in (await client.list_resources()).resources]
    assert not any(uploaded["run"] in uri or uploaded["run2"] in uri for uri in admin_sees)
