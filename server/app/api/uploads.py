"""Reading multipart uploads and JSON option fields the same way on every route."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile

from app.errors import ErrorCode, VisorError
from app.inputs.resolver import IMAGE_FIELDS

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


def form_args(form: FormData) -> dict[str, Any]:
    """The optional ``args`` part: tool options as a JSON object."""
    text = form.get("args")
    if isinstance(text, str) and text.strip():
        return json_object(text, "'args'")
    return {}


async def form_file(
    form: FormData, what: str, args: dict[str, Any]
) -> tuple[bytes, str | None] | None:
    """The ``file`` part: its bytes and declared type (None when it says nothing).

    It may be left out only when ``args`` name the image another way (``image_ref`` …).
    """
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        if any(args.get(field) is not None for field in IMAGE_FIELDS):
            return None
        raise VisorError(
            f"{what} needs a 'file' part (or an image_ref, image_url or image_path in 'args')",
            code=ErrorCode.INVALID_INPUT,
        )
    data = await upload.read()
    declared = upload.content_type if upload.content_type not in _UNDECLARED else None
    return data, declared
