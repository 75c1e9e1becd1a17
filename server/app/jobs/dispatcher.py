"""The dispatcher: runs PENDING jobs through PluginManagementService with bounded slots.

One thread claims jobs (woken by every submit, and by a finishing job when jobs were left
waiting for a slot, so the happy path never waits for a poll) and hands each to a slot of
a fixed-size pool. A slot calls ``plugins.run`` inside a :class:`CallContext` whose
progress sink writes throttled updates to the store and whose cancel event stops the tool
when the job is cancelled.

Every ``heartbeat_s`` the same thread does housekeeping: refreshes this worker's
heartbeat, takes back RUNNING jobs whose worker died (retry or FAILED/interrupted), stops
tools whose job was cancelled through another server, and purges expired jobs. An idle
claim every ``poll_s`` picks up jobs other servers accepted.

Servers sharing PostgreSQL also wake each other (:mod:`app.jobs.notify`): a server whose
slots are all busy announces its waiting work and a free dispatcher elsewhere claims it
at once; every job event is announced too, so event streams on any server follow a job
live and a job cancelled through another server stops at once. The poll and the
heartbeat stay as the fallback.

The two thread entry points (:meth:`_loop` and :meth:`_run`) are the boundary where
unexpected exceptions are caught and logged: a store outage must not kill the dispatcher.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import ErrorCode, build_envelope, public_error
from app.jobs.events import JobEventKind, JobEvents
from app.jobs.models import Job
from app.jobs.notify import JobNotifier, NullNotifier, notifier_for
from app.jobs.progress import ProgressThrottle
from app.jobs.status import JobStatus
from app.jobs.store.repository import ClaimedJob, JobStore, WorkerRow
from app.jobs.workers import split_alive, this_worker
from app.plugins.base64_text import encode_base64
from app.plugins.runtime.executor import CallContext, call_context
from app.services.analysis_service import image_payload
from app.services.plugin_management_service import PluginManagementService
from app.store.clock import now_us
from app.tracing import spans as tracing

log = logging.getLogger("visor.jobs")

_ERROR_BACKOFF_S = 1.0
_OVERLOAD_RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class DispatcherOptions:
    slots: int = 4
    progress_interval_s: float = 0.25
    poll_s: float = 1.0
    heartbeat_s: float = 5.0
    lease_s: float = 30.0
    retention_s: float = 7 * 24 * 3600.0
    purge_interval_s: float = 60.0
    shutdown_grace_s: float = 5.0


def interrupted_error(plugin: str | None = None) -> dict[str, Any]:
    """The error section of a job whose every attempt was cut short by a server stop."""
    return public_error(
        build_envelope(
            ErrorCode.INTERRUPTED,
            "the server running this job stopped before it finished, on every attempt",
            plugin=plugin,
        )
    )["error"]


def build_payload(
    args: dict[str, Any], image: bytes | None, mime_type: str | None
) -> dict[str, Any]:
    """The tool payload a stored input stands for (as ``/v1/analyze`` would build it)."""
    payload = dict(args)
    if image is not None:
        payload.update(image_payload(encode_base64(image).decode("ascii"), mime_type))
    return payload


#: ``(plugin, payload, tool) -> (result, error)``: how a job's call is made.
CallRunner = Callable[[str, dict[str, Any], str | None], tuple[dict[str, Any], dict[str, Any]]]


class Dispatcher:
    def __init__(
        self,
        store: JobStore,
        plugins: PluginManagementService,
        events: JobEvents,
        options: DispatcherOptions | None = None,
        call: CallRunner | None = None,
    ) -> None:
        self._store = store
        self._plugins = plugins
        self._call = call or plugins.run
        self._events = events
        self._options = options or DispatcherOptions()
        self._worker = this_worker()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, CallContext] = {}
        self._backlog = False  # all slots were busy at the last claim attempt
        self._idle = threading.Condition(self._lock)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._options.slots, thread_name_prefix="visor-job"
        )
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._notifier: JobNotifier = NullNotifier()
        self._local_work = False  # wake() was called: announce if we cannot take it

    @property
    def worker_id(self) -> str:
        return self._worker.id

    @property
    def poll_s(self) -> float:
        return self._options.poll_s

    @property
    def stopping(self) -> bool:
        """The server is shutting down: a call failing now was interrupted, not wrong."""
        return self._stopping.is_set()

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Register, recover what dead workers left RUNNING, purge, then start claiming."""
        self._store.register_worker(self._worker)
        self._notifier = notifier_for(self._store.engine, self._worker.id)
        self._notifier.start(self._remote_pending, self._remote_changed)
        self._events.relay = self._relay
        self.recover()
        self.purge()
        self._thread = threading.Thread(target=self._loop, name="visor-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; let running jobs finish within the grace period, then interrupt
        them (they go back to PENDING while attempts remain, for the next server start)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        deadline = time.monotonic() + self._options.shutdown_grace_s
        with self._lock:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.0, deadline - time.monotonic()))
            for ctx in self._running.values():
                ctx.cancel()
            while self._running and time.monotonic() < deadline + 1.0:
                self._idle.wait(timeout=0.1)
        for job in self._store.release(self._worker.id, interrupted_error()):
            self._events.publish(JobEventKind.STATUS, job)
        self._store.remove_workers([self._worker.id])
        self._events.relay = None
        self._notifier.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """Jobs became claimable here (a submit, a requeue): claim them, or tell others."""
        self._local_work = True
        self._wake.set()

    # -- other servers (PostgreSQL LISTEN/NOTIFY) -------------------------------------------

    def _relay(self, kind: JobEventKind, job: Job) -> None:
        self._notifier.announce_changed(job.id, progress=kind is JobEventKind.PROGRESS)

    def _remote_pending(self) -> None:
        """Another server has claimable work it cannot run now: claim if we have room."""
        self._wake.set()

    def _remote_changed(self, status_ids: list[str], progress_ids: list[str]) -> None:
        """Jobs changed on another server: feed our streams, stop what was cancelled."""
        for ids, kind in ((status_ids, JobEventKind.STATUS), (progress_ids, JobEventKind.PROGRESS)):
            for job_id in ids:
                with self._lock:
                    running_here = job_id in self._running
                if not running_here and not self._events.has_listeners(job_id):
                    continue
                job = self._store.get(job_id)
                if job is None:
                    continue
                if running_here and job.status is not JobStatus.RUNNING:
                    self.cancel_running(job_id)  # cancelled (or taken back) over there
                self._events.deliver(kind, job)

    def cancel_running(self, job_id: str) -> bool:
        """Stop the tool of a job this dispatcher runs; False if it runs elsewhere."""
        with self._lock:
            ctx = self._running.get(job_id)
        if ctx is None:
            return False
        ctx.cancel()
        return True

    # -- housekeeping -----------------------------------------------------------------------

    def recover(self) -> list[Job]:
        """Take back RUNNING jobs whose worker is gone: retry, or FAILED/interrupted."""
        released = self._store.release_orphans(self._judge, interrupted_error())
        for job in released:
            log.warning(
                "job %s was interrupted on attempt %d/%d: %s",
                job.id,
                job.attempts,
                job.max_attempts,
                "retrying" if job.status is JobStatus.PENDING else "failed",
            )
            self._events.publish(JobEventKind.STATUS, job)
        if any(j.status is JobStatus.PENDING for j in released):
            self.wake()
        return released

    def _judge(self, rows: list[WorkerRow]) -> set[str]:
        """The live workers among ``rows``; this one is alive whatever its heartbeat says."""
        alive, _ = split_alive(rows, lease_s=self._options.lease_s)
        return {*alive, self._worker.id}

    def purge(self) -> int:
        cutoff = now_us() - int(self._options.retention_s * 1_000_000)
        purged = self._store.purge_finished(cutoff)
        self._last_purge = time.monotonic()
        if purged:
            log.info("purged %d finished jobs older than the retention period", purged)
        swept = self._store.sweep_input_leftovers()
        if swept:
            log.info("deleted %d job input files left behind by a crash", swept)
        return purged

    def _housekeeping(self) -> None:
        self._store.heartbeat(self._worker)
        self.recover()
        for job_id in self._store.not_running(self.running()):
            self.cancel_running(job_id)  # cancelled (or recovered) through another server
        if time.monotonic() - self._last_purge >= self._options.purge_interval_s:
            self.purge()

    # -- the claim loop ---------------------------------------------------------------------

    def _loop(self) -> None:
        opts = self._options
        next_housekeeping = time.monotonic() + opts.heartbeat_s
        while not self._stopping.is_set():
            wait_s = min(opts.poll_s, max(0.0, next_housekeeping - time.monotonic()))
            woken = self._wake.wait(wait_s)
            self._wake.clear()
            local_work, self._local_work = self._local_work, False
            if self._stopping.is_set():
                return
            try:
                self._fill(peek=not woken, announce=local_work)
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + opts.heartbeat_s
                    self._housekeeping()
            except Exception:
                log.exception("job dispatcher: store operation failed; retrying")
                self._stopping.wait(_ERROR_BACKOFF_S)

    def _fill(self, *, peek: bool = False, announce: bool = False) -> None:
        """Claim jobs for the free slots. ``peek``: on an idle poll, look with a cheap read
        before taking the write lock (a wake-up from a submit knows there is work).
        ``announce``: work arrived here; if every slot is busy, wake other servers."""
        while not self._stopping.is_set():
            with self._lock:
                free = self._options.slots - len(self._running)
                if free <= 0:
                    self._backlog = True  # the next slot to free up wakes us
            if free <= 0:
                if announce:
                    self._notifier.announce_pending()  # a free dispatcher elsewhere takes it
                return
            if peek and not self._store.has_pending():
                return
            claimed = self._store.claim(self._worker.id, free)
            for item in claimed:
                job_id = item.job.id
                ctx = CallContext(call_id=job_id, progress=self._progress_sink(job_id))
                with self._lock:
                    self._running[job_id] = ctx
                self._events.publish(JobEventKind.STATUS, item.job)
                self._pool.submit(self._run, item, ctx, self._dispatch_span(item))
            if len(claimed) < free:
                return

    # -- one job ----------------------------------------------------------------------------

    def _dispatch_span(self, item: ClaimedJob) -> Any:
        """``visor.job.dispatch``, from this claim to the job's end, in the trace of the
        submit (stored with the job, whichever server took it); None when tracing is off."""
        if not tracing.enabled():
            return None
        attributes: dict[str, str | int] = {
            "visor.job.id": item.job.id,
            "visor.plugin": item.job.plugin,
            "visor.job.attempt": item.job.attempts,
            "visor.worker.id": self._worker.id,
            "host.name": self._worker.hostname,
        }
        parent = tracing.context_from(item.trace_context)
        return tracing.start_span("visor.job.dispatch", attributes, parent=parent)

    def _run(self, item: ClaimedJob, ctx: CallContext, span: Any = None) -> None:
        with tracing.use_span(span), tracing.span("visor.job.run"):
            self._run_job(item, ctx)

    def _run_job(self, item: ClaimedJob, ctx: CallContext) -> None:
        job = item.job
        try:
            final = self._execute(item, ctx)
            if final is not None:
                self._events.publish(JobEventKind.STATUS, final)
        except Exception as exc:
            log.exception("job %s: dispatcher failed", job.id)
            envelope = build_envelope(ErrorCode.INTERNAL, "internal error", exc=exc)
            final = self._store.finish(
                job.id, self._worker.id, JobStatus.FAILED, error=public_error(envelope)["error"]
            )
            if final is not None:
                self._events.publish(JobEventKind.STATUS, final)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
                self._idle.notify_all()
                backlog, self._backlog = self._backlog, False
            if backlog:
                self._wake.set()

    def _execute(self, item: ClaimedJob, ctx: CallContext) -> Job | None:
        job = item.job
        args, image = self._store.load_input(item)  # from the row or from files
        payload = build_payload(args, image, item.mime_type)
        result, error = self._run_when_admitted(job, payload, ctx)
        if error:
            code = error["error"]["details"].get("code")
            if code == ErrorCode.CANCELLED.value and self._stopping.is_set():
                return None  # interrupted by shutdown: stop() puts it back in the queue
            return self._store.finish(
                job.id, self._worker.id, JobStatus.FAILED, error=public_error(error)["error"]
            )
        return self._store.finish(job.id, self._worker.id, JobStatus.SUCCESS, result=result)

    def _run_when_admitted(
        self, job: Job, payload: dict[str, Any], ctx: CallContext
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run the job; while the plugin answers ``overloaded``, wait and ask again.

        An accepted job must not fail because a burst of synchronous calls filled the
        plugin's queue: the slot holds the job (still RUNNING) and retries after the
        suggested delay, until it is admitted, cancelled or the server stops.
        """
        while True:
            with call_context(ctx):
                result, error = self._call(job.plugin, payload, job.tool)
            details = error.get("error", {}).get("details", {}) if error else {}
            if details.get("code") != ErrorCode.OVERLOADED.value:
                return result, error
            delay = min(_OVERLOAD_RETRY_MAX_S, float(details.get("retry_after_s") or 0.1))
            log.info("job %s: %s is overloaded, retrying in %.2fs", job.id, job.plugin, delay)
            if ctx.cancel_event.wait(delay) or self._stopping.is_set():
                return {}, build_envelope(ErrorCode.CANCELLED, "job was cancelled while queued")

    def _progress_sink(self, job_id: str) -> Any:
        throttle = ProgressThrottle(self._options.progress_interval_s, hold_first=True)

        def sink(fraction: float, message: str | None) -> None:
            if fraction < 1.0 and not throttle.admit():
                return  # the last report (done) always passes: its message is the final one
            try:  # called from tool code: a store hiccup must not fail the tool
                job = self._store.report_progress(job_id, self._worker.id, fraction, message)
            except Exception:
                log.warning("job %s: recording progress failed", job_id, exc_info=True)
                return
            if job is not None:
                self._events.publish(JobEventKind.PROGRESS, job)

        return sink
