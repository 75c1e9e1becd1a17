"""The low-level MCP server: tools listed from the registry, calls run through ToolRunner.

Built from the app's :class:`PluginManagementService` (never a registry or runner of its
own), so an MCP call is the same governed call as ``POST /v1/analyze``: same validation,
isolation, metrics and error envelope. ``ToolRunner.run`` blocks, so calls run on a worker
thread; tool progress travels back from that thread through a small relay and goes out as
``notifications/progress`` when the client asked for it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from app.errors import ErrorCode, public_error
from app.mcp import tools
from app.plugins.runtime.executor import CallContext, ProgressCallback, call_context
from app.services.analysis_service import image_payload
from app.services.plugin_management_service import PluginManagementService

log = logging.getLogger("visor.mcp")

Progress = tuple[float, str | None]

#: Failures that mean "no such tool": a protocol error, not a tool result (MCP spec).
_UNKNOWN_TOOL_CODES = frozenset({ErrorCode.PLUGIN_NOT_FOUND.value, ErrorCode.TOOL_NOT_FOUND.value})

INSTRUCTIONS = (
    "Visor runs vision tools. Each tool is named plugin.tool; images are passed as the "
    "base64-encoded 'image' argument (with 'mime_type' when known). A failed call returns "
    "isError with {'error': {type, message, details: {code, ...}}}."
)


def build_mcp_server(plugins: PluginManagementService, *, version: str) -> Server[Any]:
    """An MCP server whose tools are the plugin tools of ``plugins``, read on every call."""
    registry = plugins.registry

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        # ttl 0: clients must not cache the list, it follows plugin reloads.
        return types.ListToolsResult(tools=tools.list_tools(registry), ttl_ms=0)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        parts = tools.split_tool_name(params.name)
        if parts is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name} (tools are plugin.tool)")
        plugin, tool = parts
        payload = _payload(plugins, plugin, tool, dict(params.arguments or {}))
        call = CallContext(call_id=_request_id(ctx))
        if _progress_token(params) is None:
            result, error = await _run(plugins, plugin, tool, payload, call)
        else:
            result, error = await _run_reporting(plugins, plugin, tool, payload, call, ctx)
        if not error:
            return tools.success_result(result)
        if error["error"]["details"].get("code") in _UNKNOWN_TOOL_CODES:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}", data=public_error(error))
        return tools.error_result(error)

    return Server(
        "visor",
        version=version,
        title="Visor",
        description="Governed execution of vision plugin tools.",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=lambda name: tools.input_schema_for(registry, name),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _payload(
    plugins: PluginManagementService, plugin: str, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """The tool payload; a missing ``mime_type`` is sniffed from the image, as REST does."""
    record = plugins.registry.get(plugin)
    spec = record.tools.get(tool) if record else None
    image = arguments.get("image")
    if (
        spec is None
        or not isinstance(image, str)
        or "mime_type" in arguments
        or "mime_type" not in spec.input_schema.get("properties", {})
    ):
        return arguments
    return {**arguments, **image_payload(image, None)}


async def _run(
    plugins: PluginManagementService,
    plugin: str,
    tool: str,
    payload: dict[str, Any],
    call: CallContext,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the call on a worker thread; a cancelled request cancels the tool too."""

    def blocking() -> tuple[dict[str, Any], dict[str, Any]]:
        with call_context(call):
            return plugins.run(plugin, payload, tool)

    try:
        return await anyio.to_thread.run_sync(blocking, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        call.cancel()  # the client went away: let the tool see ctx.cancelled
        raise


async def _run_reporting(
    plugins: PluginManagementService,
    plugin: str,
    tool: str,
    payload: dict[str, Any],
    call: CallContext,
    ctx: ServerRequestContext[Any, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`_run`, forwarding the tool's progress; all of it is sent before the result."""
    send, receive = anyio.create_memory_object_stream[Progress](math.inf)
    call.progress = _thread_reporter(send.send_nowait)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_forward_progress, receive, ctx)
        try:
            outcome = await _run(plugins, plugin, tool, payload, call)
        finally:
            send.close()
    return outcome


_GONE = (anyio.ClosedResourceError, anyio.BrokenResourceError, RuntimeError)


def _thread_reporter(put: Callable[[Progress], None]) -> ProgressCallback:
    """A progress callback safe to call from any thread (tool pool, worker readers)."""
    token = anyio.lowlevel.current_token()

    def report(fraction: float, message: str | None) -> None:
        # Best effort: after the call finished (or the loop is gone) progress is dropped.
        with contextlib.suppress(*_GONE):
            anyio.from_thread.run_sync(put, (fraction, message), token=token)

    return report


async def _forward_progress(
    receive: MemoryObjectReceiveStream[Progress], ctx: ServerRequestContext[Any, Any]
) -> None:
    async with receive:
        async for fraction, message in receive:
            try:
                await ctx.session.report_progress(fraction, 1.0, message)
            except Exception:  # a gone client must not fail the call
                log.debug("progress notification dropped", exc_info=True)


def _progress_token(params: types.CallToolRequestParams) -> Any:
    meta: dict[str, Any] = dict(params.meta or {})
    return meta.get("progress_token", meta.get("progressToken"))


def _request_id(ctx: ServerRequestContext[Any, Any]) -> str:
    """The HTTP request id (``X-Request-ID``) when there is one, so logs line up."""
    state = getattr(ctx.request, "scope", {}).get("state", {})
    request_id = state.get("request_id") if isinstance(state, dict) else None
    return str(request_id) if request_id else uuid.uuid4().hex
