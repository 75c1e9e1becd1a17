"""How plugin tools look to MCP: names, listings, and results built from envelopes.

Kept free of transport concerns so the naming and result shapes can be tested (and read)
on their own: ``plugin.tool`` names, which plugins are listed, and how ``(result, error)``
from ToolRunner becomes a ``CallToolResult``.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import orjson

from app.errors import public_error
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState

#: MCP requires object schemas; a tool without one still takes (and returns) an object.
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


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


def list_tools(registry: PluginRegistry) -> list[types.Tool]:
    """Every tool of every listable plugin, read fresh so reloads show up immediately."""
    tools: list[types.Tool] = []
    for record in registry.records():
        if record.state is PluginState.UNAVAILABLE:
            continue
        for spec in record.tools.values():
            tools.append(
                types.Tool(
                    name=tool_name(record.name, spec.name),
                    title=f"{record.name}: {spec.name}",
                    description=spec.description or record.description or None,
                    input_schema=_object_schema(spec.input_schema),
                    output_schema=_object_schema(spec.output_schema),
                )
            )
    return tools


def input_schema_for(registry: PluginRegistry, name: str) -> dict[str, Any] | None:
    """The listed input schema of ``name`` (cheap lookup for the SDK's header checks)."""
    parts = split_tool_name(name)
    record = registry.get(parts[0]) if parts else None
    if parts is None or record is None or record.state is PluginState.UNAVAILABLE:
        return None
    spec = record.tools.get(parts[1])
    return _object_schema(spec.input_schema) if spec else None


def success_result(result: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_json(result))],
        structured_content=result,
    )


def error_result(envelope: dict[str, Any]) -> types.CallToolResult:
    """A tool failure as agents read it: ``isError`` plus the envelope's public section."""
    public = public_error(envelope)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_json(public))],
        structured_content=public,
        is_error=True,
    )


def _object_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    if not schema:
        return dict(_ANY_OBJECT)
    return schema if schema.get("type") == "object" else {**schema, "type": "object"}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")
