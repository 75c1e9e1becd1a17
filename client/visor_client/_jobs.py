"""Job helpers both clients share: job references, the events URL, parsing one event."""

from __future__ import annotations

import json
import time

import httpx

from visor_client.errors import error_from_envelope
from visor_client.models import Job, JobEvent

#: A job, or its id.
JobRef = Job | str


def job_id(job: JobRef) -> str:
    return job.id if isinstance(job, Job) else job


def events_path(job: JobRef) -> str:
    from urllib.parse import quote

    return f"/v1/jobs/{quote(job_id(job), safe='')}/events"


def event_of(kind: str, data: str) -> JobEvent:
    """One SSE event; an ``error`` event (the key was revoked meanwhile) raises its envelope."""
    body = json.loads(data)
    if kind == "error":
        raise error_from_envelope(body)
    return JobEvent(kind=kind, job=Job.model_validate(body))


def stream_timeout(timeout: httpx.Timeout, deadline: float | None) -> httpx.Timeout:
    """The event stream's timeouts: reads wait for the server's 15 s pings, and never past
    the caller's deadline."""
    read = 60.0 if timeout.read is None else max(timeout.read, 60.0)
    if deadline is not None:
        read = max(0.001, min(read, deadline - time.monotonic()))
    return httpx.Timeout(read, connect=timeout.connect)
