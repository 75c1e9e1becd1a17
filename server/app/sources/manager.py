"""SourceManager: which sources this server runs, and keeping them running.

One thread per server. Every ``poll_s`` it renews the leases of the sources it runs
(:class:`~app.sources.store.SourceStore`); a source that was paused, stopped or taken
over is no longer held, and its run is stopped. Then it claims running sources nobody
holds — new ones, ones whose server died (their lease ran out), ones a stopping server
released — up to ``max_running`` on this server. So a source survives the server that ran
it: after a ``kill -9`` another server (or the same one restarted) resumes it within a
lease. It also turns finished jobs into webhook events (a listener on the job events).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import VisorError, envelope_from_exception, public_error
from app.jobs.events import JobEventKind, JobEvents
from app.jobs.models import Job
from app.jobs.status import JobStatus
from app.sources.delivery import Deliverer
from app.sources.models import Source, SourceRequest, SourceStats
from app.sources.outbox import Outbox
from app.sources.runner import Admit, RunDeps, RunOptions, SourceRun
from app.sources.store import SourceStore
from app.store.clock import iso_from_micros, now_us
from app.store.ids import new_id
from app.video.targets import FrameTarget

log = logging.getLogger("visor.sources")

_JOB_EVENTS = {
    JobStatus.SUCCESS: "job.succeeded",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELLED: "job.cancelled",
}


@dataclass(frozen=True)
class ManagerOptions:
    max_running: int = 4
    lease_s: float = 15.0
    poll_s: float = 1.0
    stop_timeout_s: float = 10.0


class SourceManager:
    def __init__(
        self,
        store: SourceStore,
        outbox: Outbox,
        deliverer: Deliverer,
        *,
        target_for: Callable[[SourceRequest], FrameTarget],
        admit: Admit,
        resolve_path: Callable[[str], Path],
        sink_dir: Path,
        options: ManagerOptions | None = None,
        run_options: RunOptions | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._deliverer = deliverer
        self._target_for = target_for
        self._admit = admit
        self._resolve_path = resolve_path
        self._sink_dir = sink_dir
        self._options = options or ManagerOptions()
        self._run_options = run_options or RunOptions()
        self.worker = new_id()
        self._runs: dict[str, SourceRun] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._job_events: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, job_events: JobEvents | None = None) -> None:
        self._sink_dir.mkdir(parents=True, exist_ok=True)
        if job_events is not None:
            self._unsubscribe = job_events.subscribe(self._job_changed)
        self._deliverer.start()
        self._thread = threading.Thread(target=self._loop, name="visor-sources", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every run and give the sources back, so the next server resumes them."""
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._thread is not None:
            self._thread.join(self._options.stop_timeout_s)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()
        for run in runs:
            run.join(self._options.stop_timeout_s)
            self._store.release(self.worker, run.id)
        self._deliverer.stop()

    def wake(self) -> None:
        self._wake.set()

    def run_of(self, source_id: str) -> SourceRun | None:
        with self._lock:
            return self._runs.get(source_id)

    # -- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the thread's boundary: a store outage must not end it
                log.exception("source manager tick failed")
            self._wake.wait(self._options.poll_s)
            self._wake.clear()

    def tick(self) -> None:
        self._drain_job_events()
        with self._lock:
            for source_id, run in list(self._runs.items()):
                if not run.alive:
                    del self._runs[source_id]
            held_ids = list(self._runs)
        held = self._store.renew(self.worker, held_ids, self._options.lease_s)
        for source_id in set(held_ids) - held:  # paused, stopped or taken over elsewhere
            with self._lock:
                gone = self._runs.pop(source_id, None)
            if gone is not None:
                gone.stop()
        room = self._options.max_running - len(held)
        if room <= 0 or self._stop.is_set():
            return
        for source in self._store.claim(self.worker, self._options.lease_s, room):
            self._start(source)

    def _start(self, source: Source) -> None:
        request = SourceRequest.model_validate(source.spec)
        stats = source.stats
        if stats.frames_in or stats.reconnects:
            stats.resumes += 1
        source_id = source.id
        try:
            target = self._target_for(request)
        except VisorError as exc:  # the tool or pipeline is gone: the source cannot run
            self._store.fail(
                self.worker, source_id, public_error(envelope_from_exception(exc))["error"]
            )
            return
        deps = RunDeps(
            target=target,
            admit=self._admit,
            emit=self._emit,
            save_stats=lambda s: self._store.save_stats(self.worker, source_id, s),
            fail=lambda error: self._store.fail(self.worker, source_id, error),
            finish=lambda: self._store.finish(self.worker, source_id),
            resolve_path=self._resolve_path,
            sink_dir=self._sink_dir,
        )
        run = SourceRun(
            source_id, source.name, source.owner, request, stats, deps, self._run_options
        )
        with self._lock:
            self._runs[source_id] = run
        log.info("source %s started on worker %s", source_id, self.worker)
        run.start()

    # -- events -----------------------------------------------------------------------------

    def _emit(self, run: SourceRun, event: dict[str, Any]) -> None:
        full = run.record_event(event)
        if self._outbox.enqueue(full, run.owner, run.id):
            self._deliverer.wake()

    def _job_changed(self, kind: JobEventKind, job: Job) -> None:
        """A job event listener: cheap and non-blocking, so it only queues."""
        if kind is JobEventKind.STATUS and job.status in _JOB_EVENTS:
            self._job_events.put(job)
            self._wake.set()

    def _drain_job_events(self) -> None:
        while True:
            try:
                job = self._job_events.get_nowait()
            except queue.Empty:
                return
            event = {
                # One id per job end, whichever server heard of it: stored once per webhook.
                "id": f"job-{job.id}-{job.status.value.lower()}",
                "type": _JOB_EVENTS[job.status],
                "job": {"id": job.id, "plugin": job.plugin, "tool": job.tool},
                "error": job.error.model_dump() if job.error is not None else None,
                "at": iso_from_micros(now_us()),
            }
            if self._outbox.enqueue(event, job.key_id, None):
                self._deliverer.wake()


def stats_of(run: SourceRun | None, stored: SourceStats) -> SourceStats:
    """The freshest stats: the live run's on this server, else the row's."""
    return run.stats.model_copy(deep=True) if run is not None else stored
