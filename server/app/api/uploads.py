"""Reading JSON bodies, multipart uploads and JSON option fields the same way on every route.

One JSON parser (orjson) for every REST body, so one malformed input — a lone surrogate,
a trailing comma — gets one answer whichever route it was sent to.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from app.errors import ErrorCode, VisorError

M = TypeVar("M", bound=BaseModel)

_UNDECLARED = (None, "", "application/octet-stream")


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object a client sent, or raise an ``invalid_input`` error naming it."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise VisorError(f"{what} is not valid JSON: {exc}", code=ErrorCode.INVALID_INPUT) from exc
    if not isinstance(parsed, dict):
        raise VisorError(f"{what} must be a JSON object", code=ErrorCode.INVALID_INPUT)
    return parsed


def parse_body(body: bytes, model: type[M]) -> M:
    """A JSON request body as ``model``: parse errors and validation errors are both 400."""
    parsed = json_object(body or b"{}", "request body")
    try:
        return model.model_validate(parsed)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def form_args(form: FormData) -> dict[str, Any]:
    """The optional ``args`` part: tool options as a JSON object."""
    text = form.get("args")
    if isinstance(text, str) and text.strip():
        return json_object(text, "'args'")
    return {}


async def form_file(form: FormData) -> tuple[bytes, str | None] | None:
    """The optional ``file`` part: its bytes and declared type (None when it says nothing).

    Without one the call is judged like a JSON call with the same ``args``: an image
    reference there is resolved, a missing image is the tool schema's to report.
    """
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    declared = upload.content_type if upload.content_type not in _UNDECLARED else None
    return data, declared
