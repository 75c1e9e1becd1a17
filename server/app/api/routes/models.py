"""The model repository: register (multipart: ONNX file + manifest), list, get, remove."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from app.api.schemas import error_responses
from app.errors import ErrorCode, VisorError
from app.models.checks import ModelRejected
from app.models.repository import ModelInfo, Registered, parse_ref
from app.models.service import ModelService
from app.responses import FastJSONResponse
from app.units import human_bytes, limit_text

router = APIRouter(prefix="/v1/models", tags=["models"])


async def get_model_service(request: Request) -> ModelService:
    service: ModelService = request.app.state.model_service
    return service


ModelServiceDep = Annotated[ModelService, Depends(get_model_service)]


class ModelList(BaseModel):
    models: list[ModelInfo]


class Removed(BaseModel):
    removed: str
    model: ModelInfo | None


_REGISTER_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "The model (plugin) name."},
                        "file": {"type": "string", "format": "binary"},
                        "manifest": {
                            "type": "string",
                            "description": "The manifest, JSON or YAML (a file or a field).",
                        },
                        "default": {
                            "type": "boolean",
                            "description": "Make this version the default (default true).",
                        },
                    },
                    "required": ["name", "file", "manifest"],
                }
            }
        },
    }
}


def _copy_limited(source: IO[bytes], target: Path, limit: int) -> None:
    with target.open("wb") as out:
        copied = 0
        while chunk := source.read(1024 * 1024):
            copied += len(chunk)
            if copied > limit:
                raise ModelRejected(
                    "too_large",
                    f"the model file is over {human_bytes(limit)}; "
                    f"{limit_text(human_bytes(limit), 'VISOR_MODEL_MAX_BYTES')}",
                    limit_bytes=limit,
                )
            out.write(chunk)


@router.post(
    "",
    status_code=201,
    response_model=Registered,
    responses=error_responses(400, 409, 413),
    openapi_extra=_REGISTER_BODY_DOC,
    summary="Register an ONNX model (or a new version of one): checked, stored, served",
)
async def register_model(request: Request, models: ModelServiceDep) -> Response:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise VisorError(
            "register a model as multipart/form-data with name, file and manifest parts",
            code=ErrorCode.INVALID_INPUT,
        )
    form = await request.form()
    try:
        name, upload, manifest = form.get("name"), form.get("file"), form.get("manifest")
        if not isinstance(name, str) or not isinstance(upload, UploadFile) or manifest is None:
            raise VisorError(
                "the registration needs a 'name' field, a 'file' part (the ONNX model) and "
                "a 'manifest' (JSON or YAML, as a field or a file)",
                code=ErrorCode.INVALID_INPUT,
            )
        manifest_text = await manifest.read() if isinstance(manifest, UploadFile) else manifest
        make_default = str(form.get("default", "true")).lower() not in ("false", "0", "no")
        repository = models.repository
        staging = repository.store.staging_dir()
        try:
            staged = staging / "model.onnx"
            limit = request.app.state.settings.model_max_bytes
            await run_in_threadpool(_copy_limited, upload.file, staged, limit)
            registered = await run_in_threadpool(
                models.register, name, staged, manifest_text, make_default=make_default
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        await form.close()
    ref = f"{registered.model.name}@{registered.version}"
    return FastJSONResponse(
        registered.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/models/{registered.model.name}", "X-Model-Version": ref},
    )


@router.get("", response_model=ModelList, summary="Every registered model and its versions")
async def list_models(models: ModelServiceDep) -> Response:
    listed = await run_in_threadpool(models.list)
    return FastJSONResponse(ModelList(models=listed).model_dump(mode="json"))


@router.get(
    "/{name}", response_model=ModelInfo, responses=error_responses(404), summary="One model"
)
async def get_model(name: str, models: ModelServiceDep) -> Response:
    info = await run_in_threadpool(models.info, name)
    return FastJSONResponse(info.model_dump(mode="json"))


@router.delete(
    "/{ref}",
    response_model=Removed,
    responses=error_responses(400, 404),
    summary="Remove a model (NAME) or one version (NAME@2); in-flight calls finish first",
)
async def remove_model(ref: str, models: ModelServiceDep) -> Response:
    name, version = parse_ref(ref)
    await run_in_threadpool(models.remove, name, version)
    remaining = None
    if version is not None and models.repository.store.versions(name):
        remaining = await run_in_threadpool(models.info, name)
    body = Removed(removed=ref, model=remaining)
    return FastJSONResponse(body.model_dump(mode="json"))
