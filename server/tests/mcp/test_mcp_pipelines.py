"""Saved pipelines as MCP tools ``pipeline.<name>``, driven by the official MCP client.

Each call goes through PipelineService (every step a governed tool call): the result is
the one REST gives, a failing step is an ``isError`` result naming the step, and a client
that asked for progress gets notifications per step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from live_server import LiveServer
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS
from pipeline_specs import FAILING

from app.mcp.pipeline_tools import INPUT_SCHEMA
from app.plugins.runtime.tool_runner import ToolRunner
from app.settings import Settings

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]

DESCRIBE = {
    "name": "describe",
    "description": "Describe an image twice, the second time with colours.",
    "steps": [
        {"id": "plain", "tool": "image_info.describe"},
        {"id": "colours", "tool": "image_info.describe", "args": {"dominant_colors": 2}},
    ],
}
#: Two progress-reporting steps of three progress reports each.
SLOW = {
    "name": "slow",
    "steps": [
        {"id": "first", "tool": "echo.sleep", "args": {"seconds": 0.06, "steps": 3}},
        {"id": "second", "tool": "echo.sleep", "args": {"seconds": 0.06, "steps": 3}},
    ],
}


#: A long first step (it stops early when cancelled), then a step that must never start.
CANCELLABLE = {
    "name": "cancellable",
    "steps": [
        {"id": "long", "tool": "echo.sleep", "args": {"seconds": 60, "steps": 600}},
        {"id": "after", "tool": "echo.aecho", "args_from": {"text": "long.slept"}},
    ],
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-pipelines") / "data",
        force_in_process=True,
        _env_file=None,
    )
    sources = [*plugin_sources("echo", "raises"), *builtin_sources("image_info")]
    server = LiveServer(settings, sources).start()
    for spec in (DESCRIBE, FAILING, SLOW, CANCELLABLE):
        httpx.post(f"{server.url}/v1/pipelines", json=spec, timeout=30).raise_for_status()
    yield server
    server.stop()


IMAGE = b64(png_bytes((40, 30), (200, 30, 30)))


def _without_timings(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("timings_ms", "elapsed_ms")}


def _envelope(result: Any) -> dict[str, Any]:
    assert result.is_error is True
    assert result.structured_content is None
    error: dict[str, Any] = json.loads(result.content[0].text)["error"]
    return error


@pytest.mark.parametrize("mode", MODES)
async def test_saved_pipelines_are_listed_with_schemas(live: LiveServer, mode: str) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert {"pipeline.describe", "pipeline.failing", "pipeline.slow"} <= set(tools)
    tool = tools["pipeline.describe"]
    assert tool.input_schema == INPUT_SCHEMA
    assert set(tool.input_schema["properties"]) == {
        "image", "image_ref", "image_url", "image_path", "mime_type"
    }  # fmt: skip
    assert "Describe an image twice" in (tool.description or "")
    assert "plain = image_info.describe" in (tool.description or "")
    output = tool.output_schema or {}
    describe = live.app.state.registry.get("image_info").tools["describe"].output_schema
    assert output["properties"]["steps"]["required"] == ["plain", "colours"]
    step_schema = output["properties"]["steps"]["properties"]["plain"]
    assert set(step_schema["properties"]) == set(describe["properties"])
    assert tool.annotations is not None and tool.annotations.read_only_hint is True


async def test_the_list_follows_saves_and_deletes(live: LiveServer) -> None:
    spec = {**DESCRIBE, "name": "short-lived"}
    async with Client(live.mcp_url) as client:
        httpx.post(f"{live.url}/v1/pipelines", json=spec, timeout=30).raise_for_status()
        assert "pipeline.short-lived" in {t.name for t in (await client.list_tools()).tools}
        httpx.delete(f"{live.url}/v1/pipelines/short-lived", timeout=30).raise_for_status()
        assert "pipeline.short-lived" not in {t.name for t in (await client.list_tools()).tools}


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_gives_what_rest_gives(live: LiveServer, mode: str) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        called = await client.call_tool("pipeline.describe", {"image": IMAGE})
    rest = httpx.post(f"{live.url}/v1/pipelines/describe/run", json={"image": IMAGE}, timeout=60)

    assert called.is_error is False, called.content
    assert called.structured_content is not None
    assert _without_timings(called.structured_content) == _without_timings(rest.json())
    assert json.loads(called.content[0].text) == called.structured_content  # type: ignore[union-attr]
    assert set(called.structured_content["timings_ms"]) == {"plain", "colours"}
    assert called.structured_content["steps"]["colours"]["width"] == 40


async def test_every_step_is_a_governed_tool_call(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str | None]] = []
    real = ToolRunner.run

    def spy(self: ToolRunner, plugin: str, payload: dict[str, Any], tool: str | None = None) -> Any:
        seen.append((plugin, tool))
        return real(self, plugin, payload, tool)

    monkeypatch.setattr(ToolRunner, "run", spy)
    async with Client(live.mcp_url) as client:
        called = await client.call_tool("pipeline.describe", {"image": IMAGE})
    assert called.is_error is False
    assert seen == [("image_info", "describe"), ("image_info", "describe")]


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_step_is_an_error_result_naming_it(live: LiveServer, mode: str) -> None:
    async with Client(live.mcp_url, mode=mode) as client:
        called = await client.call_tool("pipeline.failing", {"image": IMAGE})
    rest = httpx.post(f"{live.url}/v1/pipelines/failing/run", json={"image": IMAGE}, timeout=60)

    error = _envelope(called)
    assert error["details"]["step"] == "colours"
    assert error["details"]["code"] == "invalid_input"
    assert {k: v for k, v in error.items() if k != "timestamp"} == {
        k: v for k, v in rest.json()["error"].items() if k != "timestamp"
    }


async def test_bad_image_and_unknown_arguments_are_error_results(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        garbage = await client.call_tool("pipeline.describe", {"image": "bm90IGFuIGltYWdl"})
        extra = await client.call_tool("pipeline.describe", {"image": IMAGE, "steps": []})
    assert _envelope(garbage)["details"]["code"] == "invalid_input"
    error = _envelope(extra)
    assert error["details"]["code"] == "invalid_input"
    assert "takes only its image" in error["message"]


async def test_an_unknown_pipeline_is_an_unknown_tool(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("pipeline.nope", {"image": IMAGE})
    assert raised.value.code == INVALID_PARAMS
    data = raised.value.data
    assert isinstance(data, dict) and data["error"]["details"]["code"] == "not_found"


@pytest.mark.parametrize("mode", MODES)
async def test_progress_is_reported_per_step_and_only_grows(live: LiveServer, mode: str) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with Client(live.mcp_url, mode=mode) as client:
        called = await client.call_tool("pipeline.slow", {}, progress_callback=on_progress)

    assert called.is_error is False
    fractions = [p for p, _, _ in updates]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    messages = [m or "" for _, _, m in updates]
    assert messages[0] == "step first"
    assert "step second" in messages
    assert any(m.startswith("step second: step 3/3") for m in messages)
    assert all(total == 1.0 for _, total, _ in updates)


async def test_a_client_that_goes_away_cancels_the_step_and_no_later_step_starts(
    live: LiveServer,
) -> None:
    registry = live.app.state.registry
    before = registry.health("echo").tools
    sleeps, aechos = before["sleep"].calls, before["aecho"].calls
    async with Client(live.mcp_url) as client, anyio.create_task_group() as tg:

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            tg.cancel_scope.cancel()  # the step is running: hang up

        tg.start_soon(
            lambda: client.call_tool("pipeline.cancellable", {}, progress_callback=on_progress)
        )
    while registry.health("echo").tools["sleep"].calls == sleeps:
        await anyio.sleep(0.02)  # the sleeping step sees ctx.cancelled and ends (test timeout)
    assert registry.health("echo").tools["aecho"].calls == aechos  # "after" never ran
