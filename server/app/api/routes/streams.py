"""Live streams: ``WS /v1/streams/{plugin}/{tool}`` and ``WS /v1/streams/pipeline/{name}``
(protocol: docs/streams.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.status import WS_1008_POLICY_VIOLATION, WS_1013_TRY_AGAIN_LATER

from app.api.uploads import json_object
from app.auth.lease import lease_of
from app.auth.principal import current_principal
from app.errors import ErrorCode, VisorError, envelope_from_exception, public_error
from app.pipelines.names import PIPELINE_JOB_PLUGIN
from app.pipelines.service import PipelineInput, PipelineService
from app.pipelines.spec import PipelineSpec
from app.services.plugin_management_service import PluginManagementService
from app.streams.frames import Frame
from app.streams.session import FrameCall, StreamSession

router = APIRouter(prefix="/v1/streams", tags=["streams"])


# Declared before /{plugin}/{tool}, which would otherwise take "pipeline" for a plugin.
@router.websocket(f"/{PIPELINE_JOB_PLUGIN}/{{name}}")
async def pipeline_stream(websocket: WebSocket, name: str, args: str | None = None) -> None:
    """Every frame through a saved pipeline (as saved when the connection opened): each
    step a governed tool call; answers carry the pipeline result, failures the envelope of
    the failing step (``details.step``)."""
    pipelines: PipelineService = websocket.app.state.pipeline_service
    await websocket.accept()
    try:
        if args:
            raise VisorError(
                "a pipeline stream takes no args: its steps carry their own",
                code=ErrorCode.INVALID_INPUT,
                details={"field": "args"},
            )
        saved = await run_in_threadpool(pipelines.store.get, name)
    except VisorError as exc:
        await _refuse(websocket, exc, plugin=PIPELINE_JOB_PLUGIN)
        return
    await _serve(websocket, _pipeline_call(pipelines, saved.spec), PIPELINE_JOB_PLUGIN, name)


@router.websocket("/{plugin}/{tool}")
async def stream(websocket: WebSocket, plugin: str, tool: str, args: str | None = None) -> None:
    """Binary JPEG/PNG frames in, one JSON answer per processed frame out; ``args`` (a JSON
    object, query parameter) holds the tool's other arguments for every frame."""
    plugins: PluginManagementService = websocket.app.state.plugin_service
    await websocket.accept()
    try:
        parsed = _checked(plugins, plugin, tool, args)
    except VisorError as exc:
        await _refuse(websocket, exc, plugin=plugin)
        return

    def call(frame: Frame) -> tuple[dict[str, Any], dict[str, Any]]:
        return plugins.run(plugin, frame.payload(parsed), tool)

    await _serve(websocket, call, plugin, tool)


async def _serve(websocket: WebSocket, call: FrameCall, plugin: str, tool: str) -> None:
    state = websocket.app.state
    principal = current_principal()
    try:
        with state.stream_limits.hold(principal.key_id if principal else None):
            session = StreamSession(
                websocket,
                call,
                plugin=plugin,
                tool=tool,
                max_frame_bytes=state.settings.max_image_bytes,
                lease=lease_of(websocket.scope),
                budget=state.body_budget,
            )
            await session.run()
    except VisorError as exc:  # a limit: too many streams (app.streams.limits)
        await _refuse(websocket, exc, plugin=plugin, close_code=WS_1013_TRY_AGAIN_LATER)


async def _refuse(
    websocket: WebSocket,
    exc: VisorError,
    *,
    plugin: str,
    close_code: int = WS_1008_POLICY_VIOLATION,
) -> None:
    # Refused after accepting, so the client can read why (a handshake refusal cannot).
    await websocket.send_json(public_error(envelope_from_exception(exc, plugin=plugin)))
    await websocket.close(code=close_code, reason=exc.message[:120])


def _pipeline_call(pipelines: PipelineService, spec: PipelineSpec) -> FrameCall:
    def call(frame: Frame) -> tuple[dict[str, Any], dict[str, Any]]:
        return pipelines.run(spec, PipelineInput.model_validate(frame.payload({})))

    return call


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
