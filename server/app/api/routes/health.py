"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.dependencies import PluginServiceDep
from app.api.scaling import read_signal
from app.api.schemas import Liveness, Readiness
from app.observability.scaling import ScalingSignal
from app.responses import FastJSONResponse

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=Liveness, summary="Liveness: the process answers")
async def health() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="Readiness: plugins are loaded, the job store answers, the server accepts work",
)
async def ready(request: Request, plugins: PluginServiceDep) -> Response:
    counts = {state.value: n for state, n in plugins.registry.counts_by_state().items() if n}
    is_ready = bool(getattr(request.app.state, "ready", False))
    status = "ready" if is_ready else "starting"
    job_service = getattr(request.app.state, "job_service", None)
    if is_ready and job_service is not None and not await run_in_threadpool(job_service.ping):
        is_ready, status = False, "job store unreachable"
    body = Readiness(status=status, plugins=counts)
    return FastJSONResponse(body.model_dump(), status_code=200 if is_ready else 503)


@router.get(
    "/scaling",
    response_model=ScalingSignal,
    summary="Autoscaling signal: jobs pending per plugin, their age, admission queues",
)
async def scaling(request: Request, plugins: PluginServiceDep) -> ScalingSignal:
    state = request.app.state
    slots = state.settings.job_concurrency
    return await run_in_threadpool(read_signal, plugins, state.job_service, slots)
