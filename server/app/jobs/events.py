"""In-process job events: the dispatcher publishes, SSE streams (and tests) listen.

Publishing happens on worker threads; listeners are plain callables and must be cheap
and non-blocking (an SSE stream hands the event to its event loop with
``call_soon_threadsafe``). Events are a live view, never the record: a listener that
misses one re-reads the store.

Every event published here is also handed to the ``relay`` (set by the dispatcher when
servers share PostgreSQL: see :mod:`app.jobs.notify`), so streams on other servers hear
of it; what arrives from other servers is delivered here with :meth:`JobEvents.deliver`,
which does not relay it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from app.jobs.models import Job

log = logging.getLogger("visor.jobs")


class JobEventKind(StrEnum):
    STATUS = "status"
    PROGRESS = "progress"


Listener = Callable[[JobEventKind, Job], None]
Relay = Callable[[JobEventKind, Job], None]


class JobEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_job: dict[str, list[Listener]] = {}
        self._all: list[Listener] = []
        self.relay: Relay | None = None

    def subscribe(self, listener: Listener, job_id: str | None = None) -> Callable[[], None]:
        """Listen to one job (or all when ``job_id`` is None); returns the unsubscribe."""
        with self._lock:
            if job_id is None:
                self._all = [*self._all, listener]
            else:
                self._by_job[job_id] = [*self._by_job.get(job_id, []), listener]

        def unsubscribe() -> None:
            with self._lock:
                if job_id is None:
                    self._all = [x for x in self._all if x is not listener]
                else:
                    rest = [x for x in self._by_job.get(job_id, []) if x is not listener]
                    if rest:
                        self._by_job[job_id] = rest
                    else:
                        self._by_job.pop(job_id, None)

        return unsubscribe

    def has_listeners(self, job_id: str) -> bool:
        """Someone here follows this job (or every job)."""
        return bool(self._all) or job_id in self._by_job

    def publish(self, kind: JobEventKind, job: Job) -> None:
        """A change made by this server: tell listeners here and, through the relay, there."""
        self.deliver(kind, job)
        relay = self.relay
        if relay is not None:
            try:
                relay(kind, job)
            except Exception:
                log.exception("relaying the job event for %s failed", job.id)

    def deliver(self, kind: JobEventKind, job: Job) -> None:
        """Tell this server's listeners only (a change another server announced)."""
        listeners = self._all + self._by_job.get(job.id, [])
        for listener in listeners:
            try:
                listener(kind, job)
            except Exception:  # one broken listener must not stop a job finishing
                log.exception("job event listener failed for %s", job.id)
