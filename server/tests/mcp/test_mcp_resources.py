"""Uploaded files are MCP resources: listed for their owner, readable, gone when deleted."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from helpers import plugin_sources, png_bytes
from live_server import LiveServer
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-resources") / "data",
        force_in_process=True,
        _env_file=None,
    )
    server = LiveServer(settings, plugin_sources("echo")).start()
    yield server
    server.stop()


def _upload(live: LiveServer, name: str, data: bytes, key: str | None = None) -> str:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(
        f"{live.url}/v1/files", files={"file": (name, data)}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_uploaded_files_are_listed_and_readable(live: LiveServer, mode: str) -> None:
    page, photo = png_bytes((40, 30)), png_bytes((12, 8), (200, 0, 0))
    page_id, photo_id = _upload(live, "page.png", page), _upload(live, "photo.png", photo)

    async with Client(live.mcp_url, mode=mode) as client:
        listed = {r.uri: r for r in (await client.list_resources()).resources}
        read = await client.read_resource(f"visor://files/{photo_id}")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("visor://files/no-such-file")

    assert set(listed) == {f"visor://files/{page_id}", f"visor://files/{photo_id}"}
    entry = listed[f"visor://files/{page_id}"]
    assert (entry.name, entry.mime_type, entry.size) == ("page.png", "image/png", len(page))
    assert f"image_ref={page_id!r}" in (entry.description or "")
    (contents,) = read.contents
    assert contents.mime_type == "image/png"
    assert base64.b64decode(contents.blob) == photo  # type: ignore[union-attr]
    assert missing.value.code == INVALID_PARAMS
    assert missing.value.data["error"]["details"]["code"] == "not_found"


async def test_a_deleted_file_is_no_longer_a_resource(live: LiveServer) -> None:
    file_id = _upload(live, "gone.png", png_bytes())
    httpx.delete(f"{live.url}/v1/files/{file_id}").raise_for_status()
    async with Client(live.mcp_url) as client:
        resources = (await client.list_resources()).resources
    assert f"visor://files/{file_id}" not in {r.uri for r in resources}


def _rpc(live: LiveServer, key: str, method: str, params: dict[str, Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    response = httpx.post(
        live.mcp_url,
        content=orjson.dumps(body),
        headers={
            "authorization": f"Bearer {key}",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": "2025-11-25",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_each_key_sees_only_its_own_files(live: LiveServer) -> None:
    auth = live.app.state.auth
    alice = auth.create_key(KeyCreate(name="alice", scope=Scope.RUN)).secret
    bob = auth.create_key(KeyCreate(name="bob", scope=Scope.RUN)).secret
    alices = _upload(live, "alice.png", png_bytes(), key=alice)

    seen_by_alice = _rpc(live, alice, "resources/list", {})["result"]["resources"]
    seen_by_bob = _rpc(live, bob, "resources/list", {})["result"]["resources"]
    bob_reads = _rpc(live, bob, "resources/read", {"uri": f"visor://files/{alices}"})

    assert [r["uri"] for r in seen_by_alice] == [f"visor://files/{alices}"]
    assert seen_by_bob == []
    assert bob_reads["error"]["code"] == INVALID_PARAMS


async def test_resources_are_listed_a_page_at_a_time(live: LiveServer) -> None:
    ids = {_upload(live, f"p{i}.png", png_bytes((8 + i, 8))) for i in range(51)}  # page: 50
    async with Client(live.mcp_url, mode="legacy") as client:
        first = await client.list_resources()
        assert first.next_cursor is not None
        second = await client.list_resources(cursor=first.next_cursor)
        with pytest.raises(MCPError) as bad:
            await client.list_resources(cursor="not a cursor!")
    assert (len(first.resources), len(second.resources)) == (50, 1)
    assert second.next_cursor is None
    listed = {r.uri for r in [*first.resources, *second.resources]}
    assert listed == {f"visor://files/{i}" for i in ids}
    assert bad.value.code == INVALID_PARAMS
