"""Uploaded files as MCP resources: an agent sees what it uploaded and can read it back.

Each live file of the caller (``POST /v1/files``; owned by the calling key once keys
exist) is one resource, ``visor://files/{id}``; its description says how to use it
(``image_ref``). Reading one returns the image bytes (base64 ``blob``). The list is read
on every request (``ttlMs: 0``): files expire, and uploads happen over REST.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import mcp_types as types
import orjson
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from app.errors import ErrorCode, VisorError, build_envelope, public_error
from app.files.models import FileInfo, FileQuery
from app.files.owner import current_owner
from app.files.store import FileStore
from app.inputs.schema import FILE_URI_PREFIX as URI_PREFIX
from app.mcp.lean import SCHEMA_URI

if TYPE_CHECKING:
    from app.mcp.tools import ToolCatalogue

_SCHEMA_PREFIX, _SCHEMA_SUFFIX = SCHEMA_URI.split("{name}")


def file_uri(file_id: str) -> str:
    return f"{URI_PREFIX}{file_id}"


def file_id_of(uri: str) -> str | None:
    file_id = uri[len(URI_PREFIX) :] if uri.startswith(URI_PREFIX) else ""
    return file_id if file_id and "/" not in file_id else None


def _resource(info: FileInfo) -> types.Resource:
    return types.Resource(
        uri=file_uri(info.id),
        name=info.filename or info.id,
        title=info.filename,
        description=(
            f"Uploaded image ({info.size_bytes} bytes, expires {info.expires_at}). "
            f"Pass image_ref={info.id!r} to any tool that takes an image."
        ),
        mime_type=info.mime_type,
        size=info.size_bytes,
    )


class FileResources:
    """``resources/list`` and ``resources/read`` over the app's file store."""

    def __init__(self, store: FileStore) -> None:
        self._store = store

    @property
    def store(self) -> FileStore:
        return self._store

    async def list(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        query = FileQuery(cursor=params.cursor if params is not None else None)
        try:
            found = await anyio.to_thread.run_sync(self._store.list_files, current_owner(), query)
        except VisorError as exc:  # a cursor that is not ours
            envelope = build_envelope(exc.code, exc.message, details=exc.details)
            raise MCPError(INVALID_PARAMS, exc.message, data=public_error(envelope)) from None
        return types.ListResourcesResult(
            resources=[_resource(info) for info in found.files],
            next_cursor=found.next_cursor,
            ttl_ms=0,
        )

    async def read(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        file_id = file_id_of(params.uri)
        found = None
        if file_id is not None:
            found = await anyio.to_thread.run_sync(self._store.read, file_id, current_owner())
        if found is None:
            envelope = build_envelope(
                ErrorCode.NOT_FOUND,
                f"no uploaded file {params.uri!r} (it may have expired)",
                details={"uri": params.uri},
            )
            raise MCPError(INVALID_PARAMS, "Resource not found", data=public_error(envelope))
        data, mime_type = found
        blob = base64.b64encode(data).decode("ascii")
        return types.ReadResourceResult(
            contents=[types.BlobResourceContents(uri=params.uri, mime_type=mime_type, blob=blob)],
            ttl_ms=0,
        )


class ToolSchemas:
    """``visor://tools/<tool>/input-schema``: a tool's full input schema, every option of
    every catalogue the lean listing summarised (:mod:`app.mcp.lean`)."""

    def __init__(self, catalogue: ToolCatalogue) -> None:
        self._catalogue = catalogue

    @staticmethod
    def owns(uri: str) -> bool:
        return uri.startswith(_SCHEMA_PREFIX) and uri.endswith(_SCHEMA_SUFFIX)

    def read(self, uri: str) -> types.ReadResourceResult:
        name = uri[len(_SCHEMA_PREFIX) : -len(_SCHEMA_SUFFIX)] if self.owns(uri) else ""
        schema = self._catalogue.full_input_schema(name) if name else None
        if schema is None:
            envelope = build_envelope(
                ErrorCode.NOT_FOUND, f"no tool schema {uri!r}", details={"uri": uri}
            )
            raise MCPError(INVALID_PARAMS, "Resource not found", data=public_error(envelope))
        text = orjson.dumps(schema).decode("utf-8")
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=uri, mime_type="application/schema+json", text=text)
            ],
            ttl_ms=0,
        )
