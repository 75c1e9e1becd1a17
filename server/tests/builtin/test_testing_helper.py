"""app.plugins.testing: the author's harness goes through the real loader and ToolRunner."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel

from app.plugins.base import ImageInput, Plugin, ToolContext, tool
from app.plugins.images import load_image
from app.plugins.runtime.tool_runner import ToolRunner
from app.plugins.testing import PluginHarness, ToolCallFailed, image_payload, run_tool


class SizeOutput(BaseModel):
    width: int
    height: int


class SizePlugin(Plugin):
    name = "size"
    version = "1.0.0"
    description = "Image size."

    def startup(self) -> None:
        self.started = True

    @tool(default=True)
    def size(self, args: ImageInput, ctx: ToolContext) -> SizeOutput:
        ctx.progress(0.5, "half")
        image = load_image(args)
        return SizeOutput(width=image.width, height=image.height)

    @tool
    def broken(self) -> SizeOutput:
        return {"width": "wide"}  # type: ignore[return-value]

    @tool
    def explode(self) -> dict[str, Any]:
        raise RuntimeError("boom")


class NoNamePlugin(Plugin):
    version = "1.0.0"

    @tool
    def nothing(self) -> dict[str, Any]:
        return {}


def test_calls_go_through_tool_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []
    real = ToolRunner.run

    def spy(self: ToolRunner, plugin: str, payload: dict[str, Any], tool: str | None = None) -> Any:
        seen.append((plugin, tool))
        return real(self, plugin, payload, tool)

    monkeypatch.setattr(ToolRunner, "run", spy)
    with PluginHarness(SizePlugin) as harness:
        assert harness.call("size", image_payload(Image.new("RGB", (7, 5)))) == {
            "width": 7,
            "height": 5,
        }
        assert harness.progress == [(0.5, "half")]
    assert seen == [("size", None)]


def test_errors_are_the_production_envelopes() -> None:
    with PluginHarness(SizePlugin()) as harness:
        assert (
            harness.error("size", {"mime_type": "image/png"})["details"]["code"] == "invalid_input"
        )
        assert harness.error("size.broken")["details"]["code"] == "invalid_output"
        assert harness.error("size.explode")["details"]["code"] == "tool_error"
        assert harness.error("size.nope")["details"]["code"] == "tool_not_found"
        with pytest.raises(ToolCallFailed, match="tool_error"):
            harness.call("explode")
        health = harness.registry.health("size")
        assert health is not None and health.error_count == 5


def test_a_plugin_that_breaks_the_contract_is_unavailable_with_a_reason() -> None:
    with PluginHarness(NoNamePlugin) as harness:
        (name,) = harness.names()
        assert harness.state(name) == "UNAVAILABLE"
        assert "no name" in (harness.reason(name) or "")


def test_run_tool_and_entry_point_names() -> None:
    result, error = run_tool(SizePlugin, None, image_payload(Image.new("L", (3, 4))))
    assert error == {} and result == {"width": 3, "height": 4}
    result, error = run_tool("image_info", "describe", image_payload(Image.new("L", (3, 4))))
    assert error == {} and result["width"] == 3
    with pytest.raises(LookupError, match="pip install"):
        PluginHarness("not-installed-anywhere")
