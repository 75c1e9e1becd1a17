"""The HTTP side of idempotent job submits (``app.jobs.idempotency``): the documented
``Idempotency-Key`` header and the headers of a replayed answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Header, Request

from app.jobs.idempotency import MAX_KEY_CHARS, REPLAYED_HEADER, Idempotency, from_request
from app.jobs.models import Job

#: Declared on each submit route so OpenAPI shows it; the value is read (and checked) by
#: :func:`idempotency_of`, which also refuses control characters.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_CHARS,
        description="Makes the submit safe to retry: the same key with the same request "
        "answers 200 with the job the first attempt made; with another request, 409. "
        "Scoped to the API key; kept as long as the job.",
    ),
]


def idempotency_of(request: Request, parts: Iterable[Any]) -> Idempotency | None:
    return from_request(request.headers, parts)


def replayed_headers(job: Job) -> dict[str, str]:
    return {"Location": f"/v1/jobs/{job.id}", REPLAYED_HEADER: "true"}
