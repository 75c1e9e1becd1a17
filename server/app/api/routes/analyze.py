"""``POST /v1/analyze``: run one tool synchronously on an image (any form, docs/inputs.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.dependencies import AnalysisServiceDep
from app.api.errors import EnvelopeError
from app.api.schemas import error_responses
from app.api.uploads import parse_body
from app.plugins.runtime.executor import call_context
from app.responses import FastJSONResponse
from app.services.analysis_service import AnalyzeRequest, AnalyzeResponse

router = APIRouter(prefix="/v1", tags=["analyze"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": AnalyzeRequest.model_json_schema()}},
    }
}


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    responses=error_responses(400, 404, 413, 500, 503, 504),
    openapi_extra=_BODY_DOC,
    summary="Run a tool on an image and wait for the result",
)
async def analyze(request: Request, service: AnalysisServiceDep) -> Response:
    # The body is parsed like every other route's (one JSON reader, one set of answers).
    body = parse_body(await request.body(), AnalyzeRequest)

    def call() -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        with call_context(call_id=request.state.request_id):
            return service.analyze(body)

    response, error = await run_in_threadpool(call)  # ToolRunner.run blocks
    if error:
        raise EnvelopeError(error)
    assert response is not None
    return FastJSONResponse(response.body())
