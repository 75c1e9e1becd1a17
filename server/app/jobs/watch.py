"""Watching one job from async code: the SSE stream and submit-and-wait share it.

A watch subscribes to this server's job events *before* its first read of the job, so a
change between the two is never missed. Events only come from this server's dispatcher;
a job another server runs is re-read from the store every ``poll_s``, so a watch sees
every job end wherever it ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

from app.jobs.events import JobEventKind, JobEvents
from app.jobs.models import Job


class JobWatch:
    """The job as first read (``current``), then every change until a final status."""

    def __init__(
        self,
        first: Job,
        queue: asyncio.Queue[tuple[JobEventKind, Job]],
        unsubscribe: Callable[[], None],
        reread: Callable[[str], Job | None],
        poll_s: float,
    ) -> None:
        self.current = first
        self._queue = queue
        self._unsubscribe = unsubscribe
        self._reread = reread
        self._poll_s = poll_s

    def close(self) -> None:
        self._unsubscribe()

    async def changes(self) -> AsyncIterator[tuple[JobEventKind, Job]]:
        """Each newer version of the job, until it is final (or was purged)."""
        while not self.current.status.is_terminal:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow an outer
                # cancellation when the queue delivers at the same moment.
                async with asyncio.timeout(self._poll_s):
                    kind, fresh = await self._queue.get()
            except TimeoutError:
                reread = await run_in_threadpool(self._reread, self.current.id)
                if reread is None:
                    return
                fresh = reread
                kind = (
                    JobEventKind.STATUS
                    if fresh.status != self.current.status
                    else JobEventKind.PROGRESS
                )
            if (fresh.updated_at or "") <= (self.current.updated_at or ""):
                continue  # updated_at is a per-job version: this is not news
            self.current = fresh
            yield kind, fresh

    async def finished(self, timeout_s: float) -> Job:
        """The job once final, or as it stands when ``timeout_s`` runs out."""
        try:
            async with asyncio.timeout(timeout_s):
                async for _ in self.changes():
                    pass
        except TimeoutError:
            pass
        return self.current


async def watch_job(
    events: JobEvents,
    read: Callable[[str], Job],
    reread: Callable[[str], Job | None],
    job_id: str,
    poll_s: float,
) -> JobWatch:
    """Subscribe, then read (``read`` raises for a job the caller may not see)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[JobEventKind, Job]] = asyncio.Queue()

    def listener(kind: JobEventKind, job: Job) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, (kind, job))

    unsubscribe = events.subscribe(listener, job_id)
    try:
        first = await run_in_threadpool(read, job_id)
    except BaseException:
        unsubscribe()
        raise
    return JobWatch(first, queue, unsubscribe, reread, poll_s)
