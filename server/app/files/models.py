"""The shapes clients see for uploaded files (one model per shape)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileInfo(BaseModel):
    """An uploaded file; pass ``id`` as ``image_ref`` to any tool that takes an image."""

    id: str
    filename: str | None = Field(description="The name the client gave, if any.")
    mime_type: str = Field(description="Detected from the bytes.")
    size_bytes: int
    sha256: str
    created_at: str = Field(description="ISO-8601 UTC.")
    expires_at: str = Field(description="ISO-8601 UTC; the id stops working after this.")


class FileList(BaseModel):
    """One page of the owner's files, newest first, with the owner's totals."""

    files: list[FileInfo]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page.")
    used_bytes: int = Field(description="Bytes this owner stores now.")
    quota_bytes: int = Field(description="Bytes this owner may store.")
    file_count: int = Field(description="Files this owner stores now (all pages).")
    max_files: int = Field(description="Files this owner may store.")


class FileQuery(BaseModel):
    """Paging for ``GET /v1/files`` (newest first), as ``GET /v1/jobs`` pages."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None
