"""Jobs: submit (JSON or multipart), get, result, list, cancel, and a live event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.errors import EnvelopeError
from app.api.idempotency import IdempotencyKeyHeader, idempotency_of, replayed_headers
from app.api.schemas import error_responses
from app.api.uploads import form_args, form_file, parse_body, wants_image
from app.auth.lease import CredentialLost, Lease, lease_of, lost_envelope
from app.errors import ErrorCode, VisorError, public_error
from app.jobs.events import JobEventKind
from app.jobs.models import Job, JobList, JobQuery, JobSubmission
from app.jobs.watch import JobWatch, watch_job
from app.responses import FastJSONResponse
from app.services.analysis_service import AnalyzeResponse
from app.services.job_management_service import JobManagementService

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

#: Seconds between ``ping`` comments on an idle event stream (keeps proxies from closing it).
_SSE_PING_S = 15


async def get_job_service(request: Request) -> JobManagementService:
    service: JobManagementService = request.app.state.job_service
    return service


JobServiceDep = Annotated[JobManagementService, Depends(get_job_service)]

_SUBMIT_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": JobSubmission.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "plugin": {"type": "string"},
                        "tool": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                        "args": {"type": "string", "description": "Tool arguments, JSON."},
                        "max_attempts": {"type": "integer"},
                    },
                    "required": ["plugin", "file"],
                }
            },
        },
    }
}


def _job_response(
    job: Job, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return FastJSONResponse(job.model_dump(mode="json"), status_code=status_code, headers=headers)


@router.post(
    "",
    status_code=202,
    response_model=Job,
    responses={
        200: {
            "model": Job,
            "description": "With ?wait=: the job finished in time. Or a retry with the "
            "same Idempotency-Key: the original job (header Idempotent-Replayed: true).",
        },
        **error_responses(400, 404, 409, 413),
    },
    openapi_extra=_SUBMIT_BODY_DOC,
    summary="Submit a job (JSON with a base64 image, or a multipart upload)",
)
async def submit_job(
    request: Request,
    jobs: JobServiceDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            description="Seconds to wait for the job to finish (at most the server's "
            "job_max_wait_s). A job that finishes in time answers 200 with its result or "
            "error; otherwise 202 as without waiting. Durable either way.",
        ),
    ] = 0.0,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        plugin, tool, args, upload, max_attempts = await _read_multipart(request)
        jobs.check_nesting(args)
        idempotency = idempotency_of(
            request, ["multipart", plugin, tool, args, max_attempts, *_upload_parts(upload)]
        )
        submit = partial(
            jobs.submit_payload,
            plugin,
            tool,
            args,
            upload=upload,
            max_attempts=max_attempts,
            idempotency=idempotency,
        )
    else:
        submission = parse_body(await request.body(), JobSubmission)
        jobs.check_nesting(submission.args)
        idempotency = idempotency_of(request, ["json", submission.model_dump(mode="json")])
        submit = partial(jobs.submit, submission, idempotency)
    if idempotency is not None:
        original = await run_in_threadpool(jobs.replay, idempotency)
        if original is not None:  # a retry: the job its first attempt made
            return _job_response(original, 200, replayed_headers(original))
    job = await run_in_threadpool(submit)
    location = {"Location": f"/v1/jobs/{job.id}"}
    wait_s = min(wait, request.app.state.settings.job_max_wait_s)
    if wait_s > 0:
        watch = await _watch(jobs, job.id)
        try:
            job = await watch.finished(wait_s)
        finally:
            watch.close()
        if job.status.is_terminal:
            return _job_response(job, 200, location)
    return _job_response(job, 202, location)


@router.get("", response_model=JobList, responses=error_responses(400), summary="List jobs")
async def list_jobs(query: Annotated[JobQuery, Query()], jobs: JobServiceDep) -> Response:
    page = await run_in_threadpool(jobs.list_jobs, query)
    return FastJSONResponse(page.model_dump(mode="json"))


@router.get("/{job_id}", response_model=Job, responses=error_responses(404), summary="A job")
async def get_job(job_id: str, jobs: JobServiceDep) -> Response:
    return _job_response(await run_in_threadpool(jobs.get, job_id))


@router.get(
    "/{job_id}/result",
    response_model=AnalyzeResponse,
    responses=error_responses(400, 404, 409, 500, 503, 504),
    summary="A finished job's result, or its error with the error table's HTTP status",
)
async def get_job_result(job_id: str, jobs: JobServiceDep) -> Response:
    response, error = await run_in_threadpool(jobs.result, job_id)
    if error:
        raise EnvelopeError(error)
    assert response is not None
    return FastJSONResponse(response.body())


@router.get(
    "/{job_id}/image",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}}, "description": "The image the job ran on."},
        **error_responses(404),
    },
    summary="The job's input image, while the server keeps it",
)
async def get_job_image(job_id: str, jobs: JobServiceDep) -> Response:
    image, mime_type = await run_in_threadpool(jobs.input_image, job_id)
    return Response(image, media_type=mime_type, headers=_IMAGE_HEADERS)


@router.post(
    "/{job_id}/rerun",
    status_code=202,
    response_model=Job,
    responses=error_responses(404, 409),
    summary="Run a job again: a new job with the same plugin, tool and input",
)
async def rerun_job(job_id: str, jobs: JobServiceDep) -> Response:
    job = await run_in_threadpool(jobs.rerun, job_id)
    return _job_response(job, 202, {"Location": f"/v1/jobs/{job.id}"})


#: A stored input never changes; it is shown, never run, by whoever fetches it.
_IMAGE_HEADERS = {
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
}


@router.delete(
    "/{job_id}",
    response_model=Job,
    responses=error_responses(404, 409),
    summary="Cancel a PENDING or RUNNING job (a running tool is stopped)",
)
async def cancel_job(job_id: str, jobs: JobServiceDep) -> Response:
    return _job_response(await run_in_threadpool(jobs.cancel, job_id))


@router.get(
    "/{job_id}/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "status/progress events"},
        **error_responses(404),
    },
    summary="Server-Sent Events: 'status' and 'progress' (Job JSON), until the job ends "
    "(or an 'error' event, the envelope, if the key is revoked or expires meanwhile)",
)
async def job_events(request: Request, job_id: str, jobs: JobServiceDep) -> EventSourceResponse:
    watch = await _watch(jobs, job_id)
    return EventSourceResponse(_event_stream(watch, lease_of(request.scope)), ping=_SSE_PING_S)


async def _watch(jobs: JobManagementService, job_id: str) -> JobWatch:
    return await watch_job(jobs.events, jobs.get, jobs.store.get, job_id, jobs.dispatcher.poll_s)


async def _event_stream(watch: JobWatch, lease: Lease) -> AsyncIterator[dict[str, str]]:
    """The job now, then every change, until a final status — or, once the caller's key or
    session stops authenticating (app.auth.lease), a last ``error`` event with the envelope."""
    try:
        yield {"event": JobEventKind.STATUS.value, "data": watch.current.model_dump_json()}
        async for kind, job in lease.guard(watch.changes()):
            yield {"event": kind.value, "data": job.model_dump_json()}
    except CredentialLost as lost:
        envelope = public_error(lost_envelope(lost.refusal))
        yield {"event": "error", "data": orjson.dumps(envelope).decode()}
    finally:
        watch.close()


async def _read_multipart(
    request: Request,
) -> tuple[str, str | None, dict[str, Any], tuple[bytes, str | None] | None, int | None]:
    form = await request.form()
    plugin = form.get("plugin")
    if not isinstance(plugin, str) or not plugin:
        raise VisorError("multipart submit needs a 'plugin' part", code=ErrorCode.INVALID_INPUT)
    tool = form.get("tool")
    args = form_args(form)
    tool_name = tool if isinstance(tool, str) and tool else None
    needs_image = wants_image(request.app.state.registry, plugin, tool_name)
    upload = await form_file(form, args, needs_image=needs_image)
    max_attempts = _optional_int(form.get("max_attempts"))
    return plugin, tool if isinstance(tool, str) and tool else None, args, upload, max_attempts


def _upload_parts(upload: tuple[bytes, str | None] | None) -> list[Any]:
    return [] if upload is None else [upload[0], upload[1]]


def _optional_int(value: Any) -> int | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise VisorError("'max_attempts' must be an integer", code=ErrorCode.INVALID_INPUT) from exc
    return number
