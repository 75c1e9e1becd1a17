"""``POST /v1/analyze``: run one tool synchronously on an inline (base64) image."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.dependencies import AnalysisServiceDep
from app.api.errors import EnvelopeError
from app.api.responses import FastJSONResponse
from app.api.schemas import error_responses
from app.plugins.runtime.executor import call_context
from app.services.analysis_service import AnalyzeRequest, AnalyzeResponse

router = APIRouter(prefix="/v1", tags=["analyze"])


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    responses=error_responses(400, 404, 413, 500, 503, 504),
    summary="Run a tool on an image and wait for the result",
)
def analyze(body: AnalyzeRequest, request: Request, service: AnalysisServiceDep) -> Response:
    # A sync endpoint: FastAPI runs it on its thread pool, and ToolRunner.run blocks.
    with call_context(call_id=request.state.request_id):
        response, error = service.analyze(body)
    if error:
        raise EnvelopeError(error)
    assert response is not None
    return FastJSONResponse(response.body())
