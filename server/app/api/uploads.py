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
from app.plugins.loader.plugin_registry import PluginRegistry

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


#: The part an upload goes in, and the other name people type for it (accepted too).
UPLOAD_PART = "file"
UPLOAD_ALIASES = ("image",)


def upload_part(form: FormData, *, given_otherwise: bool = False) -> UploadFile | None:
    """The uploaded file of a multipart request: the ``file`` part, or ``image``.

    The one place every upload route reads its file, so a part under another name, a
    text field where the file belongs or two files get the same ``invalid_input`` naming
    the part Visor expects, instead of a schema error about a property the client did send.
    A file part under another name is refused only where the file was needed: not when
    the input is ``given_otherwise`` (an ``image_ref`` in ``args``, a ``video_ref``, a tool
    that takes no image), and never an empty one (some clients add one only to make the
    request multipart). Elsewhere it is ignored, and the call is judged without it.
    """
    names = (UPLOAD_PART, *UPLOAD_ALIASES)
    found = {name: form.get(name) for name in names if form.get(name) is not None}
    files = {name: value for name, value in found.items() if isinstance(value, UploadFile)}
    texts = sorted(name for name, value in found.items() if not isinstance(value, UploadFile))
    if texts and not files:
        raise VisorError(
            f"the {texts[0]!r} part is text, not a file: upload the image as a file part "
            f"named {UPLOAD_PART!r} (curl -F {UPLOAD_PART}=@photo.png)",
            code=ErrorCode.INVALID_INPUT,
            details={"field": texts[0], "expected_part": UPLOAD_PART},
        )
    if len(files) > 1:
        raise VisorError(
            f"send one file, as the {UPLOAD_PART!r} part (got {' and '.join(sorted(files))})",
            code=ErrorCode.INVALID_INPUT,
            details={"expected_part": UPLOAD_PART},
        )
    if files:
        return next(iter(files.values()))
    stray = sorted(
        {key for key, value in form.multi_items() if isinstance(value, UploadFile) and value.size}
        - set(names)
    )
    if stray and not given_otherwise:
        raise VisorError(
            f"the file part is named {stray[0]!r}: name it {UPLOAD_PART!r} "
            f"(curl -F {UPLOAD_PART}=@photo.png; {' or '.join(map(repr, UPLOAD_ALIASES))} "
            "is accepted too)",
            code=ErrorCode.INVALID_INPUT,
            details={"field": stray[0], "expected_part": UPLOAD_PART},
        )
    return None


#: Arguments that give the image without an upload.
_IMAGE_ARGUMENTS = ("image", "image_ref", "image_url", "image_path")


def wants_image(registry: PluginRegistry, plugin: str, tool: str | None) -> bool:
    """Whether the tool (``tool``, else the plugin's default) is known and takes an image."""
    record = registry.get(plugin)
    name = tool or (record.default_tool if record else None)
    spec = record.tools.get(name) if record is not None and name else None
    return spec is not None and "image" in (spec.input_schema.get("properties") or {})


async def form_file(
    form: FormData, args: dict[str, Any], *, needs_image: bool
) -> tuple[bytes, str | None] | None:
    """The optional upload (:func:`upload_part`): its bytes and declared type (None when
    it says nothing).

    Without one the call is judged like a JSON call with the same ``args``: an image
    reference there is resolved, a missing image is the tool schema's to report.
    """
    given = not needs_image or any(name in args for name in _IMAGE_ARGUMENTS)
    upload = upload_part(form, given_otherwise=given)
    if upload is None:
        return None
    data = await upload.read()
    declared = upload.content_type if upload.content_type not in _UNDECLARED else None
    return data, declared
