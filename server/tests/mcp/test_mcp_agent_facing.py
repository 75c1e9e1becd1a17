"""What an agent sees of a tool and gets back: titles, hints, how to pass an image, size
limits, rendered output — through the official client and through REST for comparison."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import b64, plugin_sources, png_bytes
from live_server import LiveServer
from mcp import Client
from PIL import Image
from visor_test_plugins.finder import FinderPlugin

from app.plugins.loader.plugin_loader import source_for_class
from app.settings import Settings

pytestmark = pytest.mark.anyio

MCP_RESULT_LIMIT = 4096
WHITE = (255, 255, 255)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-agents") / "data",
        force_in_process=True,
        mcp_max_result_bytes=MCP_RESULT_LIMIT,
        _env_file=None,
    )
    server = LiveServer(settings, [source_for_class(FinderPlugin), *plugin_sources("echo")])
    yield server.start()
    server.stop()


async def _tools(live: LiveServer) -> dict[str, Any]:
    async with Client(live.mcp_url) as client:
        return {tool.name: tool for tool in (await client.list_tools()).tools}


async def test_tools_carry_titles_hints_and_how_to_pass_an_image(live: LiveServer) -> None:
    tools = await _tools(live)

    find, flood, echo = tools["finder.find"], tools["finder.flood"], tools["echo.echo"]
    assert find.title == "Find shapes"  # from @tool(title=...)
    assert echo.title == "echo: echo"  # a tool without one: plugin and tool name
    for tool in (find, flood, echo):
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.idempotent_hint is True
        assert tool.annotations.open_world_hint is False
    assert find.description == "Find a box and a triangle."  # the tool's own words only
    # How to pass an image is in the schema (each form this server takes, exactly one)…
    schema = find.input_schema
    assert schema["oneOf"] == _one_of("image", "image_ref")
    assert "required" not in schema  # image is one of the forms, not required on its own
    assert "visor://files/" in schema["properties"]["image_ref"]["description"]
    assert "image_url" not in schema["properties"]  # off on this server: not offered
    assert "image_ref" not in echo.input_schema.get("properties", {})  # no image, no forms


async def test_what_every_tool_shares_is_said_once_in_the_instructions(live: LiveServer) -> None:
    async with Client(live.mcp_url, mode="legacy") as client:
        instructions = client.instructions or ""
    for words in ("'image'", "base64", "data: URL", "'image_ref'", "'image_url'", "'image_path'"):
        assert words in instructions
    assert "Images up to 25 MiB" in instructions
    assert "results over 4 KiB of JSON are refused" in instructions
    assert "'render': true" in instructions


async def test_render_is_offered_only_by_tools_that_find_things(live: LiveServer) -> None:
    tools = await _tools(live)

    render = tools["finder.find"].input_schema["properties"]["render"]
    assert render["type"] == "boolean" and render["default"] is False
    assert "render" not in tools["finder.flood"].input_schema.get("properties", {})
    assert "render" not in tools["echo.echo"].input_schema.get("properties", {})


async def test_render_returns_the_findings_drawn_as_an_image(live: LiveServer) -> None:
    image = b64(png_bytes((200, 100), WHITE))
    async with Client(live.mcp_url) as client:
        plain = await client.call_tool("finder.find", {"image": image})
        rendered = await client.call_tool("finder.find", {"image": image, "render": True})

    assert [block.type for block in plain.content] == ["text"]
    assert [block.type for block in rendered.content] == ["text", "image"]
    assert rendered.structured_content == plain.structured_content
    picture = rendered.content[1]
    assert picture.mime_type == "image/jpeg"  # type: ignore[union-attr]
    drawn = Image.open(io.BytesIO(base64.b64decode(picture.data))).convert("RGB")  # type: ignore[union-attr]
    assert drawn.size == (200, 100)
    x, y, w, h = plain.structured_content["findings"][0]["box"]  # type: ignore[index]
    assert not _white(drawn.getpixel((x + w // 2, y + h)))  # the box's bottom edge
    assert _white(drawn.getpixel((x + w // 2, y + h // 2)))  # its inside


async def test_render_must_be_a_boolean(live: LiveServer) -> None:
    image = b64(png_bytes((20, 20), WHITE))
    async with Client(live.mcp_url) as client:
        result = await client.call_tool("finder.find", {"image": image, "render": "yes"})
    assert result.is_error
    error = json.loads(result.content[0].text)["error"]  # type: ignore[union-attr]
    assert error["details"] == {"field": "render", "code": "invalid_input"}


async def test_results_over_the_mcp_limit_are_refused_naming_it(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        fits = await client.call_tool("finder.flood", {"n": MCP_RESULT_LIMIT // 2})
        too_big = await client.call_tool("finder.flood", {"n": MCP_RESULT_LIMIT})

    assert not fits.is_error
    assert too_big.is_error and too_big.structured_content is None
    error = json.loads(too_big.content[0].text)["error"]  # type: ignore[union-attr]
    assert error["type"] == "ValidationError"
    assert error["details"]["code"] == "invalid_output"
    assert error["details"]["limit_bytes"] == MCP_RESULT_LIMIT
    assert error["details"]["result_bytes"] > MCP_RESULT_LIMIT
    assert f"the limit is {MCP_RESULT_LIMIT} bytes" in error["message"]
    # REST has its own (larger) limit: the same call succeeds there.
    rest = httpx.post(f"{live.url}/v1/plugins/finder/tools/flood/run", json={"n": MCP_RESULT_LIMIT})
    assert rest.status_code == 200 and len(rest.json()["result"]["text"]) == MCP_RESULT_LIMIT


def test_rest_renders_into_a_base64_field(live: LiveServer) -> None:
    image = b64(png_bytes((120, 80), WHITE))
    plain = httpx.post(f"{live.url}/v1/analyze", json={"plugin": "finder", "image": image})
    analyzed = httpx.post(
        f"{live.url}/v1/analyze", json={"plugin": "finder", "image": image, "render": True}
    )
    run = httpx.post(
        f"{live.url}/v1/plugins/finder/tools/find/run?render=true", json={"image": image}
    )

    assert "rendered_image" not in plain.json()
    for response in (analyzed, run):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] == plain.json()["result"]
        drawn = Image.open(io.BytesIO(base64.b64decode(body["rendered_image"])))
        assert drawn.format == "PNG" and drawn.size == (120, 80)


async def test_render_draws_on_an_image_given_by_reference(live: LiveServer) -> None:
    upload = httpx.post(
        f"{live.url}/v1/files", files={"file": ("page.png", png_bytes((90, 60), WHITE))}
    )
    assert upload.status_code == 201, upload.text
    async with Client(live.mcp_url) as client:
        result = await client.call_tool(
            "finder.find", {"image_ref": upload.json()["id"], "render": True}
        )

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert (result.structured_content["width"], result.structured_content["height"]) == (90, 60)
    drawn = Image.open(io.BytesIO(base64.b64decode(result.content[1].data)))  # type: ignore[union-attr]
    assert drawn.size == (90, 60)


def _one_of(*fields: str) -> list[dict[str, Any]]:
    """Exactly one of ``fields`` (each branch defines its property, for strict validators)."""
    return [{"properties": {f: {"type": "string"}}, "required": [f]} for f in fields]


def _white(pixel: Any) -> bool:
    """White, give or take what JPEG does to it."""
    return all(channel >= 235 for channel in pixel)
