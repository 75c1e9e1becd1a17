"""Idempotency keys on job submits: a retried submit gets the job its first attempt made.

A client that lost the answer to ``POST /v1/jobs`` (a dropped connection, a proxy's
timeout) cannot tell whether the job exists; retrying blindly makes duplicates. With an
``Idempotency-Key`` header (any printable ASCII, up to 255 characters — a UUID is usual)
the submit is safe to repeat:

- same key, same request, same principal → ``200`` with the original job (its current
  state) and ``Idempotent-Replayed: true``; nothing new is stored or run;
- same key, another request → ``409 conflict`` naming the job that holds the key;
- another principal's key is another key (the scope is the API key's id).

The key lives on its job's row (``visor_jobs.idempotency_key``, unique), so it expires
with the job when retention deletes it. "Same request" is a SHA-256 over the parsed
submission (JSON canonicalised with sorted keys) and any uploaded bytes: a retry that
re-encodes its JSON or picks another multipart boundary is still the same request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from app.auth.principal import owner_of_new_records
from app.errors import ErrorCode, VisorError
from app.jobs.models import Job
from app.jobs.store.repository import JobStore

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class Idempotency:
    """One submit's key (scoped to its principal) and the fingerprint of its request."""

    key: str  # as the client sent it
    scoped_key: str  # "<key id or 'local'>:<key>": what the job row holds
    request_hash: str


def from_request(headers: Mapping[str, str], parts: Iterable[Any]) -> Idempotency | None:
    """The submit's idempotency, or None without the header. ``parts`` are what makes the
    request what it is: JSON-able values and bytes (uploads), in a fixed order."""
    raw = headers.get(HEADER)
    if raw is None:
        return None
    if not 0 < len(raw) <= MAX_KEY_CHARS or not all(" " <= ch <= "~" for ch in raw):
        raise VisorError(
            f"the Idempotency-Key header must be 1 to {MAX_KEY_CHARS} printable ASCII characters",
            code=ErrorCode.INVALID_INPUT,
            details={"header": "Idempotency-Key", "max_chars": MAX_KEY_CHARS},
        )
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else orjson.dumps(part, option=orjson.OPT_SORT_KEYS)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    principal = owner_of_new_records() or "local"
    return Idempotency(key=raw, scoped_key=f"{principal}:{raw}", request_hash=digest.hexdigest())


def replay(store: JobStore, idempotency: Idempotency) -> Job | None:
    """The job an earlier submit with this key made, or None; 409 if it was another
    request."""
    found = store.find_idempotent(idempotency.scoped_key)
    if found is None:
        return None
    job, request_hash = found
    if request_hash != idempotency.request_hash:
        raise VisorError(
            f"Idempotency-Key {idempotency.key!r} was already used for a different request "
            f"(job {job.id}); use a new key for a new request",
            code=ErrorCode.CONFLICT,
            details={"idempotency_key": idempotency.key, "job_id": job.id},
        )
    return job
