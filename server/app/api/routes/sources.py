"""Sources (cameras and streams the server pulls) and webhooks (where their events go)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.schemas import error_responses
from app.responses import FastJSONResponse
from app.sources.models import Source, SourceList, SourceRequest, SourceState
from app.sources.outbox import Delivery, Webhook, WebhookRequest
from app.sources.service import SourceService

router = APIRouter(tags=["sources"])


async def get_source_service(request: Request) -> SourceService:
    service: SourceService = request.app.state.source_service
    return service


Sources = Annotated[SourceService, Depends(get_source_service)]


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class DeliveryList(BaseModel):
    deliveries: list[Delivery]


@router.post(
    "/v1/sources",
    response_model=Source,
    status_code=201,
    responses=error_responses(400, 404, 429, 503),
    summary="Start a source: pull a camera, stream or file, run a tool or pipeline on it",
)
async def create_source(body: SourceRequest, sources: Sources) -> Response:
    source = await run_in_threadpool(sources.create, body)
    return FastJSONResponse(
        source.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/sources/{source.id}"},
    )


@router.get("/v1/sources", response_model=SourceList, summary="List sources")
async def list_sources(sources: Sources) -> SourceList:
    return SourceList(sources=await run_in_threadpool(sources.sources))


@router.get(
    "/v1/sources/{source_id}",
    response_model=Source,
    responses=error_responses(404),
    summary="A source: state, live fps in/out, drops, reconnects, counts, last error",
)
async def get_source(source_id: str, sources: Sources) -> Source:
    return await run_in_threadpool(sources.get, source_id)


@router.get(
    "/v1/sources/{source_id}/frame",
    responses={
        200: {"content": {"image/jpeg": {}}},
        204: {"description": "No frame here yet"},
        **error_responses(404),
    },
    summary="The newest processed frame (JPEG), from the server running the source",
)
async def source_frame(source_id: str, sources: Sources) -> Response:
    data = await run_in_threadpool(sources.preview, source_id)
    if data is None:
        return Response(status_code=204)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _state_route(state: SourceState, verb: str) -> None:
    async def change(source_id: str, sources: Sources) -> Source:
        return await run_in_threadpool(sources.set_state, source_id, state)

    router.add_api_route(
        f"/v1/sources/{{source_id}}/{verb}",
        change,
        methods=["POST"],
        response_model=Source,
        responses=error_responses(404, 429, 503),
        summary=f"{verb.capitalize()} a source",
        name=f"{verb}_source",
    )


_state_route(SourceState.PAUSED, "pause")
_state_route(SourceState.RUNNING, "resume")


@router.delete(
    "/v1/sources/{source_id}",
    response_model=Source,
    responses=error_responses(404),
    summary="Stop a source (its decoder and tool calls end; the row stays, STOPPED)",
)
async def stop_source(source_id: str, sources: Sources) -> Source:
    return await run_in_threadpool(sources.set_state, source_id, SourceState.STOPPED)


@router.post(
    "/v1/webhooks",
    response_model=Webhook,
    status_code=201,
    responses=error_responses(400),
    summary="Add a webhook (the signing secret is in this answer only)",
)
async def create_webhook(body: WebhookRequest, sources: Sources) -> Response:
    hook = await run_in_threadpool(sources.create_webhook, body)
    return FastJSONResponse(hook.model_dump(mode="json"), status_code=201)


@router.get("/v1/webhooks", response_model=WebhookList, summary="List webhooks")
async def list_webhooks(sources: Sources) -> WebhookList:
    return WebhookList(webhooks=await run_in_threadpool(sources.list_webhooks))


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=204,
    responses=error_responses(404),
    summary="Delete a webhook and its outbox",
)
async def delete_webhook(webhook_id: str, sources: Sources) -> Response:
    await run_in_threadpool(sources.delete_webhook, webhook_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryList,
    responses=error_responses(404),
    summary="A webhook's deliveries, newest first: delivered, pending (next attempt), dead",
)
async def list_deliveries(
    webhook_id: str, sources: Sources, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> DeliveryList:
    return DeliveryList(deliveries=await run_in_threadpool(sources.deliveries, webhook_id, limit))
