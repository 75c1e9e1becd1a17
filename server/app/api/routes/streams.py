"""Live streams: ``WS /v1/streams/{plugin}/{tool}`` (protocol: docs/streams.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.status import WS_1008_POLICY_VIOLATION

from app.api.uploads import json_object
from app.errors import ErrorCode, VisorError, envelope_from_exception, public_error
from app.services.plugin_management_service import PluginManagementService
from app.streams.session import StreamSession

router = APIRouter(prefix="/v1/streams", tags=["streams"])


@router.websocket("/{plugin}/{tool}")
async def stream(websocket: WebSocket, plugin: str, tool: str, args: str | None = None) -> None:
    """Binary JPEG/PNG frames in, one JSON answer per processed frame out; ``args`` (a JSON
    object, query parameter) holds the tool's other arguments for every frame."""
    plugins: PluginManagementService = websocket.app.state.plugin_service
    await websocket.accept()
    try:
        parsed = _checked(plugins, plugin, tool, args)
    except VisorError as exc:
        # Refused after accepting, so the client can read why (a handshake refusal cannot).
        await websocket.send_json(public_error(envelope_from_exception(exc, plugin=plugin)))
        await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=exc.message[:120])
        return
    session = StreamSession(
        websocket,
        plugins,
        plugin=plugin,
        tool=tool,
        args=parsed,
        max_frame_bytes=websocket.app.state.settings.max_image_bytes,
    )
    await session.run()


def _checked(
    plugins: PluginManagementService, plugin: str, tool: str, args: str | None
) -> dict[str, Any]:
    """The stream's arguments, once the plugin and tool are known to exist."""
    record = plugins.registry.get(plugin)
    if record is None:
        raise VisorError(f"plugin {plugin!r} not found", code=ErrorCode.PLUGIN_NOT_FOUND)
    if tool not in record.tools:
        raise VisorError(
            f"plugin {plugin!r} has no tool {tool!r}",
            code=ErrorCode.TOOL_NOT_FOUND,
            details={"tools": sorted(record.tools)},
        )
    parsed = json_object(args, "args") if args else {}
    for field in ("image", "mime_type"):
        if field in parsed:
            raise VisorError(
                f"args must not hold {field!r}: every frame is the image",
                code=ErrorCode.INVALID_INPUT,
                details={"field": field},
            )
    return parsed
