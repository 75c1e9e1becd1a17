"""How plugin tools look to MCP: names, listings, and results built from envelopes.

Kept free of transport concerns so the naming and result shapes can be tested (and read)
on their own: ``plugin.tool`` names, which plugins are listed, what an agent is told about
each tool (title, hints, how to pass an image, the size limits), and how ``(result,
error)`` from ToolRunner becomes a ``CallToolResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import mcp_types as types
import orjson

from app.errors import public_error
from app.inputs.resolver import InputResolver
from app.mcp.lean import lean, note
from app.plugins.base import ToolSpec
from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry, PluginState
from app.rendering.shapes import schema_has_shapes

#: MCP requires object schemas; a tool without one still takes (and returns) an object.
_ANY_OBJECT: dict[str, Any] = {"type": "object"}

#: The argument that asks for the findings drawn over the image (MCP-side only).
RENDER = "render"
#: (What it does is said once, in the server's instructions.)
_RENDER_PROPERTY: dict[str, Any] = {"type": "boolean", "default": False}


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


@dataclass(frozen=True)
class Naming:
    """How tools are named: ``plugin<separator>tool`` (``.`` by default, SPEC §6).

    ``_`` makes every name match the function-name rule of the model APIs agent hosts
    forward tools to (``^[a-zA-Z0-9_-]{1,64}$``). A call may use either separator
    whatever the setting, so a configuration written for one keeps working.
    """

    separator: str = "."
    patterns: tuple[str, ...] = ()  # VISOR_MCP_TOOLS: only matching tools are offered

    def name(self, plugin: str, tool: str) -> str:
        return f"{plugin}{self.separator}{tool}"

    def offered(self, plugin: str, tool: str, narrowed: tuple[str, ...] = ()) -> bool:
        """Whether ``plugin.tool`` is offered (the setting's patterns, then the request's)."""
        dotted = f"{plugin}.{tool}"
        return all(
            not patterns or any(fnmatchcase(dotted, p) for p in patterns)
            for patterns in (self.patterns, narrowed)
        )

    def split(self, name: str, registry: PluginRegistry) -> tuple[str, str] | None:
        """``("plugin", "tool")`` for a name in either form; ``None`` if it is neither.

        With ``_`` the split is ambiguous (plugin names hold underscores), so the longest
        installed plugin name that prefixes ``name`` wins.
        """
        dotted = split_tool_name(name)
        if dotted is not None and registry.get(dotted[0]) is not None:
            return dotted
        candidates = [
            (record.name, name[len(record.name) + 1 :])
            for record in registry.records()
            if len(name) > len(record.name) + 1
            and name.startswith(record.name)
            and name[len(record.name)] in "._"
        ]
        if candidates:
            return max(candidates, key=lambda c: len(c[0]))
        return dotted


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


class ToolCatalogue:
    """The plugin tools as MCP lists them, derived once per tool spec.

    The input schema is the caller's schema (:meth:`InputResolver.call_schema`: the image
    forms this server accepts, as REST's manifest and the dashboard show them) made lean
    for the model (:mod:`app.mcp.lean`), plus ``render`` where the tool draws.
    """

    def __init__(
        self, registry: PluginRegistry, inputs: InputResolver, limits: Limits, naming: Naming
    ) -> None:
        self.registry = registry
        self.naming = naming
        self._inputs = inputs
        self._limits = limits
        self._listed: dict[int, tuple[ToolSpec, types.Tool]] = {}

    def list_tools(self, narrowed: tuple[str, ...] = ()) -> list[types.Tool]:
        """Every offered tool of every listable plugin, read fresh (reloads show at once)."""
        tools: list[types.Tool] = []
        for record in self.registry.records():
            if record.state is PluginState.UNAVAILABLE:
                continue
            for spec in record.tools.values():
                if self.naming.offered(record.name, spec.name, narrowed):
                    tools.append(self._tool(record, spec))
        return tools

    def find(self, name: str, narrowed: tuple[str, ...] = ()) -> tuple[str, str] | None:
        """``(plugin, tool)`` for a tool name an agent may call (either separator)."""
        parts = self.naming.split(name, self.registry)
        if parts is None or not self.naming.offered(*parts, narrowed):
            return None
        return parts

    def resolve(
        self, name: str, narrowed: tuple[str, ...] = ()
    ) -> tuple[PluginRecord, ToolSpec] | None:
        """The listable plugin and tool an offered name stands for."""
        parts = self.find(name, narrowed)
        record = self.registry.get(parts[0]) if parts else None
        if parts is None or record is None or record.state is PluginState.UNAVAILABLE:
            return None
        spec = record.tools.get(parts[1])
        return (record, spec) if spec is not None else None

    def input_schema_for(self, name: str) -> dict[str, Any] | None:
        """The listed input schema of ``name`` (cheap lookup for the SDK's header checks)."""
        found = self.resolve(name)
        return dict(self._tool(*found).input_schema) if found is not None else None

    def full_input_schema(self, name: str) -> dict[str, Any] | None:
        """The caller's schema in full (the resource lean listings point to)."""
        found = self.resolve(name)
        if found is None:
            return None
        spec = found[1]
        schema = self._inputs.call_schema(spec)
        return _with_render(schema) if renders(spec) else schema

    def _tool(self, record: PluginRecord, spec: ToolSpec) -> types.Tool:
        cached = self._listed.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        if len(self._listed) > 4096:  # reloads leave dead specs behind
            self._listed.clear()
        name = self.naming.name(record.name, spec.name)
        description = _description(record, spec)
        schema, shortened = lean(_object_schema(self._inputs.call_schema(spec)), name, description)
        if shortened:
            description = f"{description}\n{note(name)}" if description else note(name)
        if renders(spec):
            schema = _with_render(schema)
        listed = types.Tool(
            name=name,
            title=spec.title or f"{record.name}: {spec.name}",
            description=description,
            input_schema=schema,
            output_schema=_object_schema(spec.output_schema),
            annotations=types.ToolAnnotations(
                read_only_hint=spec.hints.read_only,
                idempotent_hint=spec.hints.idempotent,
                open_world_hint=spec.hints.open_world,
            ),
        )
        self._listed[id(spec)] = (spec, listed)
        return listed


def _description(record: PluginRecord, spec: ToolSpec) -> str:
    """The tool's own words; how to pass an image and the limits are said once, in the
    server's instructions and the image fields' descriptions, not in every tool."""
    return spec.description or record.description or ""


def _with_render(schema: dict[str, Any]) -> dict[str, Any]:
    properties = {**schema.get("properties", {}), RENDER: _RENDER_PROPERTY}
    return {**schema, "properties": properties}


def success_result(
    result: dict[str, Any], rendered: str | None = None, *, mime_type: str = "image/png"
) -> types.CallToolResult:
    """``structuredContent`` plus the same as text; a rendered image (base64) as an image."""
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=_json(result))]
    if rendered is not None:
        content.append(types.ImageContent(type="image", data=rendered, mime_type=mime_type))
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
