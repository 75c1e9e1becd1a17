"""How plugin tools look to MCP: names, listings, and results built from envelopes.

Kept free of transport concerns so the naming and result shapes can be tested (and read)
on their own: ``plugin.tool`` names, which plugins are listed, what an agent is told about
each tool (title, hints, how to pass an image, the size limits), and how ``(result,
error)`` from ToolRunner becomes a ``CallToolResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import orjson

from app.errors import public_error
from app.plugins.base import ToolSpec
from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry, PluginState
from app.rendering.shapes import schema_has_shapes

#: MCP requires object schemas; a tool without one still takes (and returns) an object.
_ANY_OBJECT: dict[str, Any] = {"type": "object"}

#: The argument that asks for the findings drawn over the image (MCP-side only).
RENDER = "render"
_RENDER_PROPERTY: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": "Also return the findings (boxes, polygons) drawn over the image, as a PNG.",
}


@dataclass(frozen=True)
class Limits:
    """The size limits an agent is told about in every image tool's description."""

    max_image_bytes: int
    max_result_bytes: int

    def describe(self) -> str:
        return (
            f"Images up to {_size(self.max_image_bytes)}; results over "
            f"{_size(self.max_result_bytes)} of JSON are refused (ask for less)."
        )


def tool_name(plugin: str, tool: str) -> str:
    return f"{plugin}.{tool}"


def split_tool_name(name: str) -> tuple[str, str] | None:
    """``"plugin.tool"`` → ``("plugin", "tool")``; ``None`` if it is not of that form.

    Tool names are Python identifiers, so the last dot separates them even if a plugin
    name ever contained one.
    """
    plugin, dot, tool = name.rpartition(".")
    if not dot or not plugin or not tool:
        return None
    return plugin, tool


def takes_image(spec: ToolSpec) -> bool:
    return "image" in spec.input_schema.get("properties", {})


class _PerSpec:
    """A value derived once per ToolSpec (specs are immutable; they are replaced on reload).

    Keyed by identity: the SDK asks for a tool's input schema on every call (header checks).
    """

    def __init__(self, derive: Callable[[ToolSpec], Any]) -> None:
        self._derive = derive
        self._values: dict[int, tuple[ToolSpec, Any]] = {}

    def __call__(self, spec: ToolSpec) -> Any:
        cached = self._values.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        if len(self._values) > 4096:  # reloads leave dead specs behind
            self._values.clear()
        value = self._derive(spec)
        self._values[id(spec)] = (spec, value)
        return value


def _renders(spec: ToolSpec) -> bool:
    return takes_image(spec) and schema_has_shapes(spec.output_schema)


#: A tool that finds things (its results carry boxes or polygons) and takes an image.
renders: Callable[[ToolSpec], bool] = _PerSpec(_renders)


def list_tools(registry: PluginRegistry, limits: Limits) -> list[types.Tool]:
    """Every tool of every listable plugin, read fresh so reloads show up immediately."""
    tools: list[types.Tool] = []
    for record in registry.records():
        if record.state is PluginState.UNAVAILABLE:
            continue
        for spec in record.tools.values():
            tools.append(
                types.Tool(
                    name=tool_name(record.name, spec.name),
                    title=spec.title or f"{record.name}: {spec.name}",
                    description=_description(record, spec, limits),
                    input_schema=listed_input_schema(spec),
                    output_schema=_object_schema(spec.output_schema),
                    annotations=types.ToolAnnotations(
                        title=spec.title,
                        read_only_hint=spec.hints.read_only,
                        idempotent_hint=spec.hints.idempotent,
                        open_world_hint=spec.hints.open_world,
                    ),
                )
            )
    return tools


def _description(record: PluginRecord, spec: ToolSpec, limits: Limits) -> str:
    text = spec.description or record.description or ""
    if not takes_image(spec):
        return text
    how = (
        "Pass the image as 'image' (base64; a data: URL or line-wrapped base64 is fine), or "
        "as 'image_ref' (the id of a file uploaded to POST /v1/files), 'image_url' or "
        "'image_path' where the server allows them. "
    )
    extra = how + limits.describe()
    if renders(spec):
        extra += " Set 'render': true to also get the findings drawn over the image."
    return f"{text}\n\n{extra}" if text else extra


def _listed_input_schema(spec: ToolSpec) -> dict[str, Any]:
    schema = _object_schema(spec.input_schema)
    if not renders(spec):
        return schema
    properties = {**schema.get("properties", {}), RENDER: _RENDER_PROPERTY}
    return {**schema, "properties": properties}


#: The tool's input schema as MCP lists it: an object, plus ``render`` where it draws.
listed_input_schema: Callable[[ToolSpec], dict[str, Any]] = _PerSpec(_listed_input_schema)


def input_schema_for(registry: PluginRegistry, name: str) -> dict[str, Any] | None:
    """The listed input schema of ``name`` (cheap lookup for the SDK's header checks)."""
    parts = split_tool_name(name)
    record = registry.get(parts[0]) if parts else None
    if parts is None or record is None or record.state is PluginState.UNAVAILABLE:
        return None
    spec = record.tools.get(parts[1])
    return listed_input_schema(spec) if spec else None


def success_result(result: dict[str, Any], rendered_png: str | None = None) -> types.CallToolResult:
    """``structuredContent`` plus the same as text; a rendered PNG (base64) as an image."""
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=_json(result))]
    if rendered_png is not None:
        content.append(types.ImageContent(type="image", data=rendered_png, mime_type="image/png"))
    return types.CallToolResult(content=content, structured_content=result)


def error_result(envelope: dict[str, Any]) -> types.CallToolResult:
    """A tool failure as agents read it: ``isError`` plus the envelope's public section.

    Text only: ``structuredContent`` must match the tool's output schema, which an error
    envelope does not, and clients that check it (the TypeScript SDK, the Inspector) would
    turn the failure into a protocol error.
    """
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_json(public_error(envelope)))],
        is_error=True,
    )


def _object_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    if not schema:
        return dict(_ANY_OBJECT)
    return schema if schema.get("type") == "object" else {**schema, "type": "object"}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _size(n: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"
