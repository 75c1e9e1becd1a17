"""Tools of the MCP door itself, for agents that speak only MCP.

- ``files.upload``: hand over an image once (base64) and get a reference back, so later
  calls pass ``image_ref`` instead of megabytes of base64 each time (REST clients use
  ``POST /v1/files``; this is the same store, owner and limits).
- ``results.page``: the rest of a result the door cut to fit the token budget
  (:mod:`app.mcp.results`).

Both are named like plugin tools (``files.upload``, or ``files_upload`` with the ``_``
separator) and offered whatever ``VISOR_MCP_TOOLS`` picks.
"""

from __future__ import annotations

import io
from typing import Any

import anyio.to_thread
import mcp_types as types

from app.auth.principal import current_principal
from app.auth.scopes import Access
from app.errors import ErrorCode, VisorError, build_envelope, envelope_from_exception
from app.files.owner import current_owner
from app.files.store import FileStore
from app.inputs.schema import FILE_URI_PREFIX
from app.mcp import tools
from app.mcp.results import PAGE_TOOL, ResultBudget, parse_pointer
from app.plugins.base64_text import decode_base64_text

UPLOAD_TOOL = ("files", "upload")

_UPLOAD_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {"type": "string", "description": "The image, base64 (a data: URL is fine)."},
        "filename": {"type": "string"},
    },
    "required": ["data"],
    "additionalProperties": False,
}
_UPLOAD_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image_ref": {"type": "string"},
        "uri": {"type": "string"},
        "mime_type": {"type": "string"},
        "size_bytes": {"type": "integer"},
        "expires_at": {"type": "string"},
    },
    "required": ["image_ref", "uri", "mime_type", "size_bytes", "expires_at"],
}
_PAGE_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "result": {"type": "string", "description": "The id a cut result named."},
        "path": {"type": "string", "description": "JSON Pointer of the cut part, e.g. /words."},
        "offset": {"type": "integer", "minimum": 0},
    },
    "required": ["result", "path", "offset"],
    "additionalProperties": False,
}
_PAGE_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "offset": {"type": "integer"},
        "total": {"type": "integer"},
        "items": {"type": "array"},
        "text": {"type": "string"},
        "next_offset": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["path", "offset", "total", "next_offset"],
}


class DoorTools:
    """``files.upload`` (when the server stores files) and ``results.page``."""

    def __init__(self, naming: tools.Naming, budget: ResultBudget, files: FileStore | None) -> None:
        self._budget = budget
        self._files = files
        self._tools: dict[tuple[str, str], types.Tool] = {
            PAGE_TOOL: types.Tool(
                name=naming.name(*PAGE_TOOL),
                title="Rest of a cut result",
                description="The next items (or characters) of a result that was cut to fit "
                "the token budget; its answer says which result, path and offset.",
                input_schema=_PAGE_INPUT,
                output_schema=_PAGE_OUTPUT,
                annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True),
            )
        }
        if files is not None:
            self._tools[UPLOAD_TOOL] = types.Tool(
                name=naming.name(*UPLOAD_TOOL),
                title="Upload an image",
                description="Store an image once and get its image_ref, to pass to any tool "
                "instead of the base64 (saves sending it again). Expires after a while.",
                input_schema=_UPLOAD_INPUT,
                output_schema=_UPLOAD_OUTPUT,
                annotations=types.ToolAnnotations(
                    read_only_hint=False, idempotent_hint=False, open_world_hint=False
                ),
            )

    def list_tools(self) -> list[types.Tool]:
        """Always offered (tool patterns pick plugin and pipeline tools): a cut result must
        stay pageable whatever the agent was given."""
        return list(self._tools.values())

    def find(self, name: str) -> tuple[str, str] | None:
        for key in self._tools:
            if name in (f"{key[0]}.{key[1]}", f"{key[0]}_{key[1]}"):
                return key
        return None

    async def call(self, key: tuple[str, str], arguments: dict[str, Any]) -> types.CallToolResult:
        if key == UPLOAD_TOOL:
            return await self._upload(arguments)
        return await self._page(arguments)

    async def _upload(self, arguments: dict[str, Any]) -> types.CallToolResult:
        principal = current_principal()
        if principal is not None and not principal.allows(Access.RUN):
            return tools.error_result(
                build_envelope(
                    ErrorCode.FORBIDDEN,
                    f"key {principal.key_id} has scope {principal.scope.value}; "
                    "uploading needs run",
                    details={"scope": principal.scope.value, "required": "run"},
                )
            )
        unknown = sorted(set(arguments) - {"data", "filename"})
        filename = arguments.get("filename")
        if unknown or not isinstance(filename, (str, type(None))):
            return _invalid(f"files.upload takes data and filename, not {unknown or 'that'}")
        store, owner = self._files, current_owner()
        assert store is not None  # the tool is offered only with a store
        try:
            data, _declared = decode_base64_text(arguments.get("data"), "data")
            info = await anyio.to_thread.run_sync(
                lambda: store.save(io.BytesIO(data), filename=filename, owner=owner)
            )
        except VisorError as exc:
            return tools.error_result(envelope_from_exception(exc))
        uri = f"{FILE_URI_PREFIX}{info.id}"
        uploaded = {
            "image_ref": info.id,
            "uri": uri,
            "mime_type": info.mime_type,
            "size_bytes": info.size_bytes,
            "expires_at": info.expires_at,
        }
        result = tools.success_result(uploaded)
        result.content.append(
            types.ResourceLink(
                type="resource_link",
                uri=uri,
                name=info.filename or info.id,
                mime_type=info.mime_type,
                size=info.size_bytes,
            )
        )
        return result

    async def _page(self, arguments: dict[str, Any]) -> types.CallToolResult:
        result_id, path, offset = (arguments.get(k) for k in ("result", "path", "offset"))
        if (
            not isinstance(result_id, str)
            or not isinstance(path, str)
            or not isinstance(offset, int)
            or isinstance(offset, bool)
            or offset < 0
        ):
            return _invalid("results.page takes result (an id), path (/…) and offset (≥ 0)")
        kept = self._budget.get(result_id, current_owner())
        if kept is None:
            return tools.error_result(
                build_envelope(
                    ErrorCode.NOT_FOUND,
                    f"no result {result_id!r} (results are kept 15 minutes, on the server "
                    "that made them); call the tool again",
                    details={"result": result_id},
                )
            )
        try:
            page = self._budget.page(kept, parse_pointer(path), offset)
        except (LookupError, TypeError, ValueError) as exc:
            return _invalid(f"path {path!r}: {exc}")
        return tools.success_result(page)


def _invalid(message: str) -> types.CallToolResult:
    return tools.error_result(build_envelope(ErrorCode.INVALID_INPUT, message))
