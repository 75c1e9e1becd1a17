"""JobManagementService: the job lifecycle behind ``/v1/jobs`` (SPEC §5).

It owns job records (through :class:`~app.jobs.store.repository.JobStore`) and the
dispatcher that executes them — which calls ``PluginManagementService.run`` and nothing
lower. At submit it checks only that the plugin and tool exist (a job that can never run
is refused with 404 at once); the input is validated against the tool's schema by
ToolRunner when the job runs, so a bad argument ends the job FAILED with
``invalid_input``, exactly as ``/v1/analyze`` would have answered.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from app.errors import ErrorCode, VisorError, build_envelope, public_error
from app.jobs.dispatcher import Dispatcher, DispatcherOptions
from app.jobs.events import JobEventKind, JobEvents
from app.jobs.models import MAX_ATTEMPTS_LIMIT, Job, JobList, JobQuery, JobSubmission
from app.jobs.status import JobStatus
from app.jobs.store.engine import build_engine
from app.jobs.store.migrate import upgrade
from app.jobs.store.repository import JobInput, JobStore
from app.services.analysis_service import AnalyzeResponse, sniff_mime_type
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings


class JobManagementService:
    def __init__(
        self,
        store: JobStore,
        plugins: PluginManagementService,
        *,
        events: JobEvents | None = None,
        options: DispatcherOptions | None = None,
        default_max_attempts: int = 3,
        max_image_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self._store = store
        self._plugins = plugins
        self._events = events or JobEvents()
        self._dispatcher = Dispatcher(store, plugins, self._events, options)
        self._default_max_attempts = default_max_attempts
        self._max_image_bytes = max_image_bytes

    @classmethod
    def from_settings(
        cls, settings: Settings, plugins: PluginManagementService
    ) -> JobManagementService:
        options = DispatcherOptions(
            slots=settings.job_concurrency,
            progress_interval_s=settings.job_progress_interval_s,
            poll_s=settings.job_poll_s,
            heartbeat_s=settings.job_heartbeat_s,
            lease_s=settings.job_lease_s,
            retention_s=settings.job_retention_s,
            shutdown_grace_s=settings.job_shutdown_grace_s,
        )
        return cls(
            JobStore(build_engine(settings.resolved_database_url())),
            plugins,
            options=options,
            default_max_attempts=settings.job_max_attempts,
            max_image_bytes=settings.max_image_bytes,
        )

    @property
    def events(self) -> JobEvents:
        return self._events

    @property
    def store(self) -> JobStore:
        return self._store

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Migrate the store, recover interrupted jobs and start dispatching."""
        upgrade(self._store.engine)
        self._dispatcher.start()

    def stop(self) -> None:
        self._dispatcher.stop()
        self._store.close()

    def ping(self) -> bool:
        try:
            self._store.ping()
        except Exception:  # readiness reports it; the reason is in the log
            return False
        return True

    # -- commands ---------------------------------------------------------------------------

    def submit(self, submission: JobSubmission) -> Job:
        image = _decode_image(submission.image) if submission.image is not None else None
        return self.submit_input(
            submission.plugin,
            submission.tool,
            JobInput(submission.args, image, submission.mime_type),
            max_attempts=submission.max_attempts,
        )

    def submit_input(
        self,
        plugin: str,
        tool: str | None,
        job_input: JobInput,
        *,
        max_attempts: int | None = None,
    ) -> Job:
        """Accept a job: check it can run, store it durably, wake the dispatcher."""
        if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise VisorError(
                f"max_attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}",
                code=ErrorCode.INVALID_INPUT,
            )
        tool = self._resolve_tool(plugin, tool)
        if job_input.image is not None:
            if len(job_input.image) > self._max_image_bytes:
                raise VisorError(
                    f"image is {len(job_input.image)} bytes; the limit is {self._max_image_bytes}",
                    code=ErrorCode.PAYLOAD_TOO_LARGE,
                )
            if job_input.mime_type is None:
                job_input = JobInput(
                    job_input.args, job_input.image, sniff_mime_type(job_input.image[:64])
                )
        job = self._store.insert(
            uuid.uuid4().hex,
            plugin,
            tool,
            max_attempts or self._default_max_attempts,
            job_input,
        )
        self._events.publish(JobEventKind.STATUS, job)
        self._dispatcher.wake()
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a PENDING or RUNNING job; a running tool is told to stop."""
        error = public_error(build_envelope(ErrorCode.CANCELLED, "the job was cancelled"))
        job, owner = self._store.cancel(job_id, error["error"])
        if job is None:
            current = self.get(job_id)
            raise VisorError(
                f"job {job_id} already finished with status {current.status}",
                code=ErrorCode.CONFLICT,
                details={"status": current.status.value},
            )
        if owner is not None:
            # Ours: stop it now. Another server's: it notices at its next heartbeat.
            self._dispatcher.cancel_running(job_id)
        self._events.publish(JobEventKind.STATUS, job)
        return job

    def purge_expired(self) -> int:
        return self._dispatcher.purge()

    # -- queries ----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self._store.get(job_id)
        if job is None:
            raise VisorError(f"job {job_id!r} does not exist", code=ErrorCode.NOT_FOUND)
        return job

    def list_jobs(self, query: JobQuery) -> JobList:
        return self._store.list_jobs(query)

    def count_by_status(self, statuses: Collection[JobStatus]) -> dict[JobStatus, int]:
        """Jobs per status, e.g. the queue depth (PENDING) an operator watches."""
        return self._store.count_by_status(statuses)

    def result(self, job_id: str) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        """``(response, {})`` for a SUCCESS job, ``(None, {"error": ...})`` for a failed or
        cancelled one; raises ``conflict`` while it has not finished."""
        job = self.get(job_id)
        if not job.status.is_terminal:
            raise VisorError(
                f"job {job_id} has not finished (status {job.status})",
                code=ErrorCode.CONFLICT,
                details={"status": job.status.value},
            )
        if job.status is JobStatus.SUCCESS:
            elapsed_ms = _elapsed_ms(job)
            return (
                AnalyzeResponse(
                    result=job.result or {}, plugin=job.plugin, tool=job.tool, elapsed_ms=elapsed_ms
                ),
                {},
            )
        assert job.error is not None, "a FAILED or CANCELLED job always carries its error"
        return None, {"error": job.error.model_dump()}

    # -- helpers ----------------------------------------------------------------------------

    def _resolve_tool(self, plugin: str, tool: str | None) -> str:
        record = self._plugins.registry.get(plugin)
        if record is None:
            raise VisorError(
                f"plugin {plugin!r} is not installed",
                code=ErrorCode.PLUGIN_NOT_FOUND,
                details={"available": self._plugins.registry.names()},
            )
        name = self._plugins.selected_tool(plugin, tool)
        if name is None or name not in record.tools:
            message = (
                f"plugin {plugin!r} has no tool {name!r}"
                if name is not None
                else f"plugin {plugin!r} has several tools and none is the default; name one"
            )
            raise VisorError(
                message,
                code=ErrorCode.TOOL_NOT_FOUND,
                details={"available": sorted(record.tools)},
                plugin=plugin,
            )
        return name


def _decode_image(image_b64: str) -> bytes:
    try:
        return base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VisorError(f"image is not valid base64: {exc}", code=ErrorCode.INVALID_INPUT) from exc


def _elapsed_ms(job: Job) -> float:
    if job.started_at is None or job.finished_at is None:
        return 0.0
    started = datetime.fromisoformat(job.started_at)
    finished = datetime.fromisoformat(job.finished_at)
    return round((finished - started).total_seconds() * 1000.0, 3)
