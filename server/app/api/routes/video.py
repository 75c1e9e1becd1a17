"""Video jobs: ``POST /v1/video/jobs`` (JSON with a ``video_ref``, or a multipart upload).

The job is an ordinary job afterwards: follow, cancel and fetch it under ``/v1/jobs``.
A multipart upload is spooled to disk by the form parser and copied to the job's input
files in chunks, so a large video never sits in memory.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from app.api.idempotency import IdempotencyKeyHeader, idempotency_of, replayed_headers
from app.api.routes.pipelines import _inline_defs  # $defs in place: OpenAPI cannot see them
from app.api.schemas import error_responses
from app.api.uploads import json_object, parse_body, upload_part
from app.errors import ErrorCode, VisorError
from app.jobs.idempotency import Idempotency
from app.jobs.models import Job
from app.responses import FastJSONResponse
from app.services.job_management_service import JobManagementService
from app.units import human_bytes
from app.video.models import VideoJobRequest
from app.video.service import VideoService

router = APIRouter(prefix="/v1/video", tags=["video"])

#: Multipart text parts, read as the JSON request's fields.
_TEXT_PARTS = ("video_ref", "plugin", "tool", "pipeline", "max_attempts", "frames")
_JSON_PARTS = ("args", "sample")


async def get_video_service(request: Request) -> VideoService:
    service: VideoService = request.app.state.video_service
    return service


VideoServiceDep = Annotated[VideoService, Depends(get_video_service)]

_SUBMIT_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_defs(VideoJobRequest.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "plugin": {"type": "string"},
                        "tool": {"type": "string"},
                        "pipeline": {"type": "string"},
                        "args": {"type": "string", "description": "Tool options, JSON."},
                        "sample": {
                            "type": "string",
                            "description": 'Sampling rule, JSON, e.g. {"fps": 2, "end_s": 30}.',
                        },
                        "max_attempts": {"type": "integer"},
                        "frames": {"type": "boolean"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/jobs",
    status_code=202,
    response_model=Job,
    responses={
        200: {"model": Job, "description": "A retry with the same Idempotency-Key."},
        **error_responses(400, 404, 409, 413, 503),
    },
    openapi_extra=_SUBMIT_BODY_DOC,
    summary="Submit a video job: sampled frames through a tool or a saved pipeline",
)
async def submit_video_job(
    request: Request, video: VideoServiceDep, idempotency_key: IdempotencyKeyHeader = None
) -> Response:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        try:
            submission = _from_form(form)
            video.check_nesting(submission.args)
            upload = upload_part(form, given_otherwise=submission.video_ref is not None)
            file = upload.file if upload is not None else None
            name = upload.filename if upload is not None else None
            parts: list[Any] = ["multipart", submission.model_dump(mode="json"), name]
            if file is not None and request.headers.get("idempotency-key") is not None:
                parts.append(await run_in_threadpool(_digest, file))
            idempotency = idempotency_of(request, parts)
            job, replayed = await _submit(request, video, idempotency, submission, file, name)
        finally:
            await form.close()
    else:
        limit = request.app.state.settings.max_request_bytes
        submission = parse_body(await _bounded_body(request, limit), VideoJobRequest)
        video.check_nesting(submission.args)
        idempotency = idempotency_of(request, ["json", submission.model_dump(mode="json")])
        job, replayed = await _submit(request, video, idempotency, submission, None, None)
    if replayed:
        return FastJSONResponse(job.model_dump(mode="json"), headers=replayed_headers(job))
    return FastJSONResponse(
        job.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"}
    )


async def _submit(
    request: Request,
    video: VideoService,
    idempotency: Idempotency | None,
    submission: VideoJobRequest,
    file: BinaryIO | None,
    name: str | None,
) -> tuple[Job, bool]:
    """The job, and whether it is an earlier submit's (an Idempotency-Key retry)."""
    if idempotency is not None:
        jobs: JobManagementService = request.app.state.job_service
        original = await run_in_threadpool(jobs.replay, idempotency)
        if original is not None:
            return original, True
    job = await run_in_threadpool(
        partial(video.submit, submission, file, name, idempotency=idempotency)
    )
    return job, False


def _digest(file: BinaryIO) -> bytes:
    """SHA-256 of an uploaded video (spooled to disk), read in chunks; rewound after."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.digest()


def _from_form(form: FormData) -> VideoJobRequest:
    fields: dict[str, Any] = {}
    for name in _TEXT_PARTS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    for name in _JSON_PARTS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = json_object(value, f"'{name}'")
    try:
        return VideoJobRequest.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


async def _bounded_body(request: Request, limit: int) -> bytes:
    """A JSON body, at most ``limit`` bytes (this route's own body limit is a video's)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise VisorError(
                f"request body exceeds {human_bytes(limit)} (VISOR_MAX_REQUEST_BYTES)",
                code=ErrorCode.PAYLOAD_TOO_LARGE,
                details={"limit_bytes": limit},
            )
    return bytes(body)
