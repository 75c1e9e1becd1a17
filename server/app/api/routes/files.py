"""Uploaded files: upload (multipart), list, get, delete. Use an id as ``image_ref``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.schemas import error_responses
from app.api.uploads import upload_part
from app.errors import ErrorCode, VisorError
from app.files.models import FileInfo, FileList, FileQuery
from app.files.owner import current_owner
from app.files.store import FileStore
from app.responses import FastJSONResponse

router = APIRouter(prefix="/v1/files", tags=["files"])


async def get_file_store(request: Request) -> FileStore:
    store: FileStore = request.app.state.file_store
    return store


FileStoreDep = Annotated[FileStore, Depends(get_file_store)]

_UPLOAD_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=FileInfo,
    responses=error_responses(400, 413),
    openapi_extra=_UPLOAD_BODY_DOC,
    summary="Upload an image once; pass its id as image_ref to any tool, many times",
)
async def upload_file(request: Request, store: FileStoreDep) -> Response:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise VisorError(
            "upload a file as multipart/form-data with a 'file' part",
            code=ErrorCode.INVALID_INPUT,
        )
    form = await request.form()  # parts are spooled to temporary files, not held in memory
    try:
        upload = upload_part(form)
        if upload is None:
            raise VisorError("the upload needs a 'file' part", code=ErrorCode.INVALID_INPUT)
        info = await run_in_threadpool(
            store.save, upload.file, filename=upload.filename, owner=current_owner()
        )
    finally:
        await form.close()
    return FastJSONResponse(
        info.model_dump(), status_code=201, headers={"Location": f"/v1/files/{info.id}"}
    )


@router.get(
    "",
    response_model=FileList,
    responses=error_responses(400),
    summary="The caller's uploaded files, newest first, a page at a time",
)
async def list_files(query: Annotated[FileQuery, Query()], store: FileStoreDep) -> Response:
    page = await run_in_threadpool(store.list_files, current_owner(), query)
    return FastJSONResponse(page.model_dump())


@router.get(
    "/{file_id}", response_model=FileInfo, responses=error_responses(404), summary="One file"
)
async def get_file(file_id: str, store: FileStoreDep) -> Response:
    info = await run_in_threadpool(store.get, file_id, current_owner())
    return FastJSONResponse(info.model_dump())


@router.delete(
    "/{file_id}",
    response_model=FileInfo,
    responses=error_responses(404),
    summary="Delete a file now (it also expires by itself)",
)
async def delete_file(file_id: str, store: FileStoreDep) -> Response:
    info = await run_in_threadpool(store.delete, file_id, current_owner())
    return FastJSONResponse(info.model_dump())
