"""The MCP door, driven by the official MCP client against a live server.

Both protocol eras the SDK speaks are exercised: ``legacy`` (the ``initialize`` handshake,
2025 revisions) and ``auto`` (``server/discover``, the stateless 2026 revision).
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
from helpers import b64, png_bytes
from live_server import LiveServer
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from PIL import Image

from app.plugins.loader.plugin_registry import PluginState
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]
#: The door's own tools (app.mcp.door_tools), beside every plugin tool.
DOOR_TOOLS = {"files.upload", "results.page"}


async def test_initialize_handshake(live: LiveServer) -> None:
    async with Client(live.mcp_url, mode="legacy") as client:
        assert client.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
        assert client.server_info is not None and client.server_info.name == "visor"
        assert client.server_capabilities.tools is not None
        assert "plugin.tool" in (client.instructions or "")


@pytest.mark.parametrize("mode", MODES)
async def test_lists_every_tool_with_its_schemas(live: LiveServer, mode: str) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}

    registry = live.app.state.registry
    expected = {
        f"{record.name}.{spec.name}": (record, spec)
        for record in registry.records()
        if record.state is not PluginState.UNAVAILABLE
        for spec in record.tools.values()
    }
    assert set(listed) == set(expected) | DOOR_TOOLS
    assert {"echo.echo", "echo.sleep", "raises.boom", "image_info.describe"} <= set(listed)
    for name, (record, spec) in expected.items():
        assert (listed[name].description or "").startswith(spec.description or record.description)
        schema = listed[name].input_schema
        # Every option the tool declares is offered, without pydantic's titles.
        assert set(spec.input_schema.get("properties", {})) <= set(schema.get("properties", {}))
        assert not _titles(schema), name
        assert listed[name].output_schema == spec.output_schema | {"type": "object"}
        annotations = listed[name].annotations
        assert annotations is not None
        assert (annotations.read_only_hint, annotations.idempotent_hint) == (True, True)
        assert annotations.open_world_hint is False
        assert listed[name].title
    assert registry.state("import_fails") is PluginState.UNAVAILABLE
    assert not any(name.startswith("import_fails.") for name in listed)


@pytest.mark.parametrize("mode", MODES)
async def test_call_success_returns_structured_content_and_text(
    live: LiveServer, mode: str
) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        result = await client.call_tool("echo.echo", {"text": "hello"})
        async_result = await client.call_tool("echo.aecho", {"text": "async"})

    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["text"] == "hello"
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    assert async_result.structured_content is not None
    assert async_result.structured_content["text"] == "async"


@pytest.mark.parametrize("mode", MODES)
async def test_tool_failure_is_an_error_result_carrying_the_envelope(
    live: LiveServer, mode: str
) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        raised = await client.call_tool("raises.boom", {})
        invalid = await client.call_tool("echo.echo", {"text": 42})

    assert raised.is_error
    error = _error_of(raised)
    assert error["type"] == "ExecutionError"
    assert error["details"]["code"] == "tool_error"
    assert error["plugin"] == "raises"
    assert "boom" in error["message"]
    assert set(error) == {"type", "message", "details", "plugin", "timestamp"}
    text = raised.content[0].text  # type: ignore[union-attr]
    assert "_internal" not in text and "Traceback" not in text

    assert invalid.is_error
    assert _error_of(invalid)["type"] == "ValidationError"
    assert _error_of(invalid)["details"]["code"] == "invalid_input"


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_a_protocol_error(live: LiveServer, mode: str) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        with pytest.raises(MCPError) as missing_plugin:
            await client.call_tool("nope.nothing", {})
        with pytest.raises(MCPError) as missing_tool:
            await client.call_tool("echo.nothing", {})
        with pytest.raises(MCPError) as not_a_tool_name:
            await client.call_tool("echo", {})

    assert missing_plugin.value.code == INVALID_PARAMS
    assert missing_plugin.value.data["error"]["details"]["code"] == "plugin_not_found"
    assert missing_tool.value.code == INVALID_PARAMS
    assert missing_tool.value.data["error"]["details"]["code"] == "tool_not_found"
    assert not_a_tool_name.value.code == INVALID_PARAMS


@pytest.mark.parametrize("mode", MODES)
async def test_long_tool_sends_progress_notifications(live: LiveServer, mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(live.mcp_url, mode=mode) as client:
        result = await client.call_tool(
            "echo.sleep", {"seconds": 0.04, "steps": 4}, progress_callback=on_progress
        )

    assert result.structured_content == {"slept": True}
    assert seen == [(step / 4, 1.0, f"step {step}/4") for step in range(1, 5)]


async def test_images_are_base64_arguments_and_mime_type_is_sniffed(live: LiveServer) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(jpeg, "JPEG")
    async with Client(live.mcp_url) as client:
        png = await client.call_tool(
            "image_info.describe", {"image": b64(png_bytes((32, 24))), "mime_type": "image/png"}
        )
        sniffed = await client.call_tool(
            "image_info.describe", {"image": base64.b64encode(jpeg.getvalue()).decode()}
        )
        garbage = await client.call_tool(
            "image_info.describe", {"image": b64(b"not an image"), "mime_type": "image/png"}
        )

    assert png.structured_content is not None
    assert (png.structured_content["width"], png.structured_content["height"]) == (32, 24)
    assert sniffed.structured_content is not None
    assert sniffed.structured_content["format"] == "JPEG"
    assert garbage.is_error
    assert _error_of(garbage)["details"]["code"] == "invalid_input"


async def test_monkeypatched_tool_runner_reaches_mcp_calls(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []

    def fake(
        self: ToolRunner, plugin_name: str, payload: dict[str, Any], tool: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        calls.append((plugin_name, payload, tool))
        return {"text": "from the fake", "pid": 0}, {}

    monkeypatch.setattr(ToolRunner, "run", fake)
    async with Client(live.mcp_url) as client:
        result = await client.call_tool("echo.echo", {"text": "real"})

    assert result.structured_content == {"text": "from the fake", "pid": 0}
    assert calls == [("echo", {"text": "real"}, "echo")]


async def test_tool_list_follows_state_changes_and_reloads(fresh_live: LiveServer) -> None:
    registry = fresh_live.app.state.registry
    async with Client(fresh_live.mcp_url) as client:
        before = {tool.name for tool in (await client.list_tools()).tools}
        registry.transition("raises", PluginState.UNAVAILABLE, "dependency lost")
        while_unavailable = {tool.name for tool in (await client.list_tools()).tools}
        unavailable_call = await client.call_tool("raises.boom", {})
        registry.remove("echo")
        removed = {tool.name for tool in (await client.list_tools()).tools}
        httpx.post(f"{fresh_live.url}/v1/plugins/reload", timeout=30).raise_for_status()
        after_reload = {tool.name for tool in (await client.list_tools()).tools}

    assert "raises.boom" in before and "echo.echo" in before
    assert "raises.boom" not in while_unavailable
    assert unavailable_call.is_error
    assert _error_of(unavailable_call)["details"]["code"] == "plugin_unavailable"
    assert not any(name.startswith("echo.") for name in removed)
    assert after_reload == before


async def test_trailing_slash_is_served_without_a_redirect(live: LiveServer) -> None:
    async with Client(f"{live.mcp_url}/") as client:
        result = await client.call_tool("echo.echo", {"text": "slash"})
    assert result.structured_content is not None
    assert result.structured_content["text"] == "slash"
    for path in ("/mcp", "/mcp/"):
        # Stateless: no standalone stream to open, and never a slash redirect.
        response = httpx.get(f"{live.url}{path}", headers={"accept": "text/event-stream"})
        assert response.status_code == 405


def _error_of(result: Any) -> dict[str, Any]:
    """The envelope of an isError result: text content only (it would break the tool's
    output schema as structuredContent)."""
    assert result.is_error
    assert result.structured_content is None
    assert len(result.content) == 1 and result.content[0].type == "text"
    body = json.loads(result.content[0].text)
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    return error


def _titles(node: Any) -> list[Any]:
    """Every ``title`` keyword in a schema (property names are not keywords)."""
    if isinstance(node, list):
        return [t for item in node for t in _titles(item)]
    if not isinstance(node, dict):
        return []
    found = [node["title"]] if isinstance(node.get("title"), str) else []
    for key, value in node.items():
        children = value.values() if key == "properties" and isinstance(value, dict) else [value]
        found += [t for child in children for t in _titles(child)]
    return found
