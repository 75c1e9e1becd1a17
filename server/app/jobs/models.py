"""The job shapes clients see: one model per shape, shared by REST, the CLI and events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, field_validator

from app.errors import ErrorInfo
from app.jobs.status import JobStatus
from app.schemas.analyze import AnalyzeRequest

MAX_ATTEMPTS_LIMIT = 20
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class Job(BaseModel):
    """A job as clients see it. The input (image, args) is never part of it."""

    id: str
    plugin: str
    tool: str | None
    status: JobStatus
    attempts: int = Field(description="Times the job was started (claimed by a dispatcher).")
    max_attempts: int = Field(description="Starts allowed before an interrupted job fails.")
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
    progress_message: str | None = None
    created_at: str | None = Field(default=None, description="ISO-8601 UTC.")
    started_at: str | None = Field(default=None, description="ISO-8601 UTC, of the latest attempt.")
    finished_at: str | None = Field(default=None, description="ISO-8601 UTC.")
    updated_at: str | None = Field(default=None, description="ISO-8601 UTC.")
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = Field(default=None, description="The error envelope's error section.")
    input_mime_type: str | None = Field(
        default=None,
        description="Mime type of the job's input image, when it had one; while the server "
        "keeps the image, GET /v1/jobs/{id}/image returns it.",
    )
    # The API key that submitted the job (app.auth), for ownership checks: server-side only,
    # so the job shape clients see does not change with authentication.
    _key_id: str | None = PrivateAttr(default=None)

    @property
    def key_id(self) -> str | None:
        return self._key_id


class JobSubmission(AnalyzeRequest):
    """``POST /v1/jobs``: what ``/v1/analyze`` takes, plus the attempt limit."""

    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ATTEMPTS_LIMIT,
        description="Starts allowed if the server dies mid-run; default from settings.",
    )


class JobList(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page.")


class JobQuery(BaseModel):
    """Filters and paging for ``GET /v1/jobs`` (newest first)."""

    status: JobStatus | None = None
    plugin: str | None = None
    tool: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None
    results: bool = Field(
        default=True,
        description="false: leave each job's result out (a light page for lists that poll; "
        "GET /v1/jobs/{id} or /result has it).",
    )

    @field_validator("created_after", "created_before", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        """ISO-8601 only: pydantic would read ``0.5`` as 0.5 s after 1970, a silent mistake."""
        if isinstance(value, int | float) or (
            isinstance(value, str) and _NUMBER.fullmatch(value.strip())
        ):
            raise ValueError("must be an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z")
        return value
