"""Pipelines: save (JSON or YAML), list, get, delete, and run — saved or inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.disconnect import cancelled_on_disconnect
from app.api.errors import EnvelopeError
from app.api.schemas import error_responses
from app.api.uploads import parse_body
from app.pipelines.runner import Outcome
from app.pipelines.service import InlinePipelineRun, PipelineInput, PipelineService
from app.pipelines.spec import PipelineSpec, parse_spec
from app.pipelines.store import SavedPipeline
from app.plugins.runtime.executor import CallContext, call_context
from app.responses import FastJSONResponse

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])


async def get_pipeline_service(request: Request) -> PipelineService:
    service: PipelineService = request.app.state.pipeline_service
    return service


PipelineServiceDep = Annotated[PipelineService, Depends(get_pipeline_service)]


class PipelineList(BaseModel):
    pipelines: list[SavedPipeline]


class PipelineResult(BaseModel):
    pipeline: str | None
    steps: dict[str, Any]
    timings_ms: dict[str, float]
    elapsed_ms: float


def _inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON Schema with its ``$defs`` written in place: ``#/$defs/...`` refs do
    not resolve inside an OpenAPI document (ReDoc refuses the whole document)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


def _body_doc(model: type[BaseModel], yaml: bool = False) -> dict[str, Any]:
    schema = _inline_defs(model.model_json_schema())
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if yaml:
        content["application/yaml"] = {"schema": {"type": "string"}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "",
    response_model=SavedPipeline,
    status_code=201,
    responses=error_responses(400, 413),
    openapi_extra=_body_doc(PipelineSpec, yaml=True),
    summary="Save a pipeline (JSON, or YAML with content-type application/yaml); "
    "201 when new, 200 when it replaced one",
)
async def save_pipeline(request: Request, pipelines: PipelineServiceDep) -> Response:
    spec = parse_spec(await request.body())
    saved, created = await run_in_threadpool(pipelines.save, spec)
    return FastJSONResponse(
        saved.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/pipelines/{saved.name}"},
    )


@router.get("", response_model=PipelineList, summary="Saved pipelines")
async def list_pipelines(pipelines: PipelineServiceDep) -> Response:
    saved = await run_in_threadpool(pipelines.store.list)
    return FastJSONResponse(PipelineList(pipelines=saved).model_dump(mode="json"))


@router.post(
    "/run",
    response_model=PipelineResult,
    responses=error_responses(400, 404, 413, 500, 503, 504),
    openapi_extra=_body_doc(InlinePipelineRun),
    summary="Run an inline pipeline spec on an image",
)
async def run_inline(request: Request, pipelines: PipelineServiceDep) -> Response:
    given = parse_body(await request.body(), InlinePipelineRun)
    base = PipelineInput.model_validate(given.model_dump(exclude={"spec"}))
    return await _run(request, lambda: pipelines.run(given.spec, base))


@router.get(
    "/{name}", response_model=SavedPipeline, responses=error_responses(404), summary="A pipeline"
)
async def get_pipeline(name: str, pipelines: PipelineServiceDep) -> Response:
    saved = await run_in_threadpool(pipelines.store.get, name)
    return FastJSONResponse(saved.model_dump(mode="json"))


@router.delete(
    "/{name}",
    response_model=SavedPipeline,
    responses=error_responses(404),
    summary="Delete a pipeline",
)
async def delete_pipeline(name: str, pipelines: PipelineServiceDep) -> Response:
    saved = await run_in_threadpool(pipelines.store.delete, name)
    return FastJSONResponse(saved.model_dump(mode="json"))


@router.post(
    "/{name}/run",
    response_model=PipelineResult,
    responses=error_responses(400, 404, 413, 500, 503, 504),
    openapi_extra=_body_doc(PipelineInput),
    summary="Run a saved pipeline on an image",
)
async def run_saved(name: str, request: Request, pipelines: PipelineServiceDep) -> Response:
    given = parse_body(await request.body(), PipelineInput)
    return await _run(request, lambda: pipelines.run_saved(name, given))


async def _run(request: Request, work: Callable[[], Outcome]) -> Response:
    """Run a pipeline in a worker thread; a client that goes away cancels the run (its call
    in flight, and every call it has not made yet), as on MCP."""
    ctx = CallContext(call_id=request.state.request_id)

    def call() -> Outcome:
        with call_context(ctx):
            return work()

    async with cancelled_on_disconnect(request, ctx):
        result, error = await run_in_threadpool(call)
    if error:
        raise EnvelopeError(error)
    return FastJSONResponse(result)
