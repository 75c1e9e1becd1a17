"""Plugins: list, manifest, health, reload, and running one tool by path."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.dependencies import AnalysisServiceDep, PluginServiceDep
from app.api.errors import EnvelopeError
from app.api.schemas import PluginList, PluginManifest, error_responses
from app.api.uploads import form_args, form_file, json_object, wants_image
from app.plugins.loader.plugin_registry import PluginHealth
from app.plugins.runtime.executor import call_context
from app.responses import FastJSONResponse
from app.services.analysis_service import AnalyzeResponse, image_payload

router = APIRouter(prefix="/v1/plugins", tags=["plugins"])

_RENDER_DOC = "Also return the result's boxes and polygons drawn over the image (rendered_image)."

_RUN_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "The tool's arguments (see its input_schema in the manifest).",
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "args": {
                            "type": "string",
                            "description": "Other tool arguments as a JSON object.",
                        },
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


@router.get("", response_model=PluginList, summary="All plugins with state and metrics")
async def list_plugins(plugins: PluginServiceDep) -> PluginList:
    return PluginList(plugins=plugins.list_plugins())


@router.post(
    "/reload",
    response_model=PluginList,
    summary="Rediscover and restart all plugins (admin)",
    description="Per-plugin call counts and latencies restart at zero; Prometheus counters "
    "keep counting.",
)
async def reload_plugins(plugins: PluginServiceDep) -> PluginList:
    await run_in_threadpool(plugins.load)
    return PluginList(plugins=plugins.list_plugins())


@router.get(
    "/{plugin}",
    response_model=PluginManifest,
    responses=error_responses(404),
    summary="A plugin's manifest: its tools with input and output schemas",
)
async def get_plugin(plugin: str, plugins: PluginServiceDep) -> dict[str, Any]:
    return plugins.manifest(plugin)


@router.get(
    "/{plugin}/health",
    response_model=PluginHealth,
    responses=error_responses(404),
    summary="A plugin's health and execution metrics",
)
async def plugin_health(plugin: str, plugins: PluginServiceDep) -> PluginHealth:
    return plugins.health(plugin)


@router.post(
    "/{plugin}/tools/{tool}/run",
    response_model=AnalyzeResponse,
    responses=error_responses(400, 404, 413, 500, 503, 504),
    openapi_extra=_RUN_BODY_DOC,
    summary="Run a tool with JSON arguments, or on an uploaded image (multipart)",
)
async def run_tool(
    plugin: str,
    tool: str,
    request: Request,
    service: AnalysisServiceDep,
    render: Annotated[bool, Query(description=_RENDER_DOC)] = False,
) -> Response:
    payload = await _read_payload(request, plugin, tool)

    def call() -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        with call_context(call_id=request.state.request_id):
            return service.run_tool(plugin, tool, payload, render=render)

    response, error = await run_in_threadpool(call)
    if error:
        raise EnvelopeError(error)
    assert response is not None
    return FastJSONResponse(response.body())


async def _read_payload(request: Request, plugin: str, tool: str) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        payload = form_args(form)
        needs_image = wants_image(request.app.state.registry, plugin, tool)
        upload = await form_file(form, payload, needs_image=needs_image)
        if upload is not None:
            data, declared = upload
            payload.update(image_payload(base64.b64encode(data).decode("ascii"), declared))
        return payload
    body = await request.body()
    return json_object(body, "request body") if body else {}
