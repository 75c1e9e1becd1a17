"""JobManagementService: the job lifecycle behind ``/v1/jobs`` (SPEC §5).

It owns job records (through :class:`~app.jobs.store.repository.JobStore`) and the
dispatcher that executes them — which calls ``PluginManagementService.run`` and nothing
lower. At submit it checks only that the plugin and tool exist (a job that can never run
is refused with 404 at once); the input is validated against the tool's schema by
ToolRunner when the job runs, so a bad argument ends the job FAILED with
``invalid_input``, exactly as ``/v1/analyze`` would have answered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from app.auth.principal import owner_filter, owner_of_new_records
from app.blobs.base import BlobStore
from app.errors import ErrorCode, VisorError, build_envelope, public_error
from app.inputs.resolver import ResolvedImage
from app.jobs.dispatcher import Dispatcher, DispatcherOptions
from app.jobs.events import JobEventKind, JobEvents
from app.jobs.idempotency import Idempotency, replay
from app.jobs.models import MAX_ATTEMPTS_LIMIT, Job, JobList, JobQuery, JobSubmission
from app.jobs.status import JobStatus
from app.jobs.store.input_files import JobInputFiles
from app.jobs.store.repository import IdempotencyKeyTaken, JobInput, JobStore
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineService
from app.plugins.base import ToolSpec
from app.services.analysis_service import AnalyzeResponse, request_payload
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings
from app.store.engine import build_engine
from app.store.ids import new_id
from app.store.migrate import upgrade

#: A job kind's runner: the stored args in, ``(result, error)`` out (see run_kind_with).
JobKind = Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


class JobManagementService:
    def __init__(
        self,
        store: JobStore,
        plugins: PluginManagementService,
        *,
        events: JobEvents | None = None,
        options: DispatcherOptions | None = None,
        default_max_attempts: int = 3,
    ) -> None:
        self._store = store
        self._plugins = plugins
        self._events = events or JobEvents()
        self._dispatcher = Dispatcher(store, plugins, self._events, options, call=self._call)
        self._default_max_attempts = default_max_attempts
        self._pipelines: PipelineService | None = None
        self._kinds: dict[str, JobKind] = {}
        self._migrated = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        plugins: PluginManagementService,
        *,
        blobs: BlobStore | None = None,
    ) -> JobManagementService:
        """``blobs``: where large inputs go (a scope of the app's blob store); default the
        data directory's ``job-inputs``."""
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
            JobStore(
                build_engine(settings.resolved_database_url()),
                JobInputFiles(
                    settings.data_dir / "job-inputs",
                    inline_bytes=settings.job_input_inline_bytes,
                    max_total_bytes=settings.job_inputs_max_bytes,
                    blobs=blobs,  # type: ignore[arg-type]  # None: data_dir/job-inputs
                ),
            ),
            plugins,
            options=options,
            default_max_attempts=settings.job_max_attempts,
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

    def run_pipelines_with(self, pipelines: PipelineService) -> None:
        """Accept pipeline jobs: plugin ``pipeline``, tool = a saved pipeline's name."""
        self._pipelines = pipelines

    def run_kind_with(self, plugin: str, run: JobKind) -> None:
        """Jobs whose ``plugin`` is ``plugin`` (e.g. ``video``) run through ``run(payload)``:
        a job kind that makes its own governed calls (PluginManagementService.run)."""
        self._kinds[plugin] = run

    def _call(
        self, plugin: str, payload: dict[str, Any], tool: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """How the dispatcher runs a job: one tool call, a pipeline of them, or a kind."""
        kind = self._kinds.get(plugin)
        if kind is not None:
            return kind(payload)
        if plugin == PIPELINE_JOB_PLUGIN and self._pipelines is not None:
            return self._pipelines.run_pinned(payload)
        return self._plugins.run(plugin, payload, tool)

    # -- lifecycle --------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the database schema up to date (once; the app does it before plugins load,
        since model plugins may read their files from blobs in the database)."""
        if not self._migrated:
            upgrade(self._store.engine)
            self._migrated = True

    def start(self) -> None:
        """Migrate the store, recover interrupted jobs and start dispatching."""
        self.migrate()
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

    def submit(self, submission: JobSubmission, idempotency: Idempotency | None = None) -> Job:
        """A JSON submission (``POST /v1/jobs``)."""
        return self.submit_payload(
            submission.plugin,
            submission.tool,
            request_payload(submission),
            max_attempts=submission.max_attempts,
            idempotency=idempotency,
        )

    def check_nesting(self, args: object) -> None:
        """Refuse arguments nested past ``VISOR_MAX_ARGS_DEPTH`` before anything else reads
        them (the Idempotency-Key fingerprint serialises the whole submission)."""
        self._plugins.inputs.check_nesting(args)

    def replay(self, idempotency: Idempotency) -> Job | None:
        """The job an earlier submit with the same Idempotency-Key made (409 if that was
        another request); None for a new key."""
        return replay(self._store, idempotency)

    def submit_payload(
        self,
        plugin: str,
        tool: str | None,
        payload: dict[str, Any],
        *,
        upload: tuple[bytes, str | None] | None = None,
        max_attempts: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> Job:
        """Accept a job: check it can run, pin its image, store it durably, wake the
        dispatcher.

        The image — uploaded bytes, or any form the input resolver takes — is checked now
        exactly as a synchronous call would check it, and its bytes are stored with the
        job: a referenced file that expires later cannot fail it.
        """
        _check_max_attempts(max_attempts)
        inputs = self._plugins.inputs
        image: ResolvedImage | None
        uploaded = inputs.check_bytes(upload[0], upload[1], "file") if upload else None
        if plugin == PIPELINE_JOB_PLUGIN and self._pipelines is not None:
            tool, (args, image) = tool or "", self._pipelines.pin(tool, payload, uploaded)
        else:
            tool, spec = self.resolve_tool(plugin, tool)
            if uploaded is not None:
                inputs.check_nesting(payload)
                args, image = payload, uploaded
            else:
                args, image = inputs.take_image(spec, payload)
        job_input = JobInput(args, image.data, image.mime_type) if image else JobInput(args)
        return self.submit_input(
            plugin, tool, job_input, max_attempts=max_attempts, idempotency=idempotency
        )

    def submit_input(
        self,
        plugin: str,
        tool: str | None,
        job_input: JobInput,
        *,
        max_attempts: int | None,
        idempotency: Idempotency | None = None,
    ) -> Job:
        """Store a job whose input is already checked, and wake the dispatcher.

        With ``idempotency``, a concurrent submit that stored the same key first wins: this
        one gets its job (or 409 if it was another request) and stores nothing."""
        _check_max_attempts(max_attempts)
        try:
            job = self._store.insert(
                new_id(),
                plugin,
                tool,
                max_attempts or self._default_max_attempts,
                job_input,
                key_id=owner_of_new_records(),
                idempotency_key=idempotency.scoped_key if idempotency else None,
                request_hash=idempotency.request_hash if idempotency else None,
            )
        except IdempotencyKeyTaken:
            assert idempotency is not None
            original = self.replay(idempotency)
            if original is None:  # the winner's job is already gone: ours to store
                return self.submit_input(plugin, tool, job_input, max_attempts=max_attempts)
            return original
        self._events.publish(JobEventKind.STATUS, job)
        self._dispatcher.wake()
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a PENDING or RUNNING job; a running tool is told to stop."""
        self.get(job_id)  # another key's job does not exist for this caller
        error = public_error(build_envelope(ErrorCode.CANCELLED, "the job was cancelled"))
        job, owner = self._store.cancel(job_id, error["error"])
        if job is None:
            current = self.get(job_id)
            raise VisorError(
                f"job {job_id} already finished with status {current.status}",
                code=ErrorCode.JOB_FINISHED,
                details={"status": current.status.value},
            )
        if owner is not None:
            # Ours: stop it now. Another server's: it notices at its next heartbeat.
            self._dispatcher.cancel_running(job_id)
        self._events.publish(JobEventKind.STATUS, job)
        return job

    def input_image(self, job_id: str) -> tuple[bytes, str]:
        """The image a job ran on, while the store keeps it (for the dashboard's job page)."""
        job = self.get(job_id)
        image = self._store.get_image(job_id) if job.input_mime_type else None
        if image is None or job.input_mime_type is None:
            raise VisorError(
                f"job {job_id} has no input image kept"
                + ("" if job.input_mime_type else ": it ran without one"),
                code=ErrorCode.NOT_FOUND,
            )
        return image, job.input_mime_type

    def rerun(self, job_id: str) -> Job:
        """A new job with the same plugin, tool and input as ``job_id``, owned by the caller."""
        job = self.get(job_id)
        if job.plugin != PIPELINE_JOB_PLUGIN and job.plugin not in self._plugins.registry:
            raise VisorError(  # e.g. a video job: its video is not kept after it ends
                f"job {job_id} ran {job.plugin!r}, which this server cannot run again as a job",
                code=ErrorCode.CONFLICT,
                details={"job_id": job_id},
            )
        job_input = self._store.stored_input(job_id)
        if job_input is None:
            raise VisorError(
                f"job {job_id}'s input is no longer kept, so it cannot run again: submit the "
                "input anew (inputs stored as files are freed when their job ends)",
                code=ErrorCode.CONFLICT,
                details={"job_id": job_id},
            )
        return self.submit_input(job.plugin, job.tool, job_input, max_attempts=job.max_attempts)

    def purge_expired(self) -> int:
        return self._dispatcher.purge()

    # -- queries ----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """The job, if the caller may see it: a non-admin key sees only its own jobs, and
        another key's job answers exactly as a job that does not exist."""
        job = self._store.get(job_id)
        owner = owner_filter()
        if job is None or (owner is not None and job.key_id != owner):
            raise VisorError(f"job {job_id!r} does not exist", code=ErrorCode.JOB_NOT_FOUND)
        return job

    def list_jobs(self, query: JobQuery) -> JobList:
        return self._store.list_jobs(query, key_id=owner_filter())

    def pending_by_plugin(self) -> dict[str, tuple[int, int]]:
        """Per plugin, PENDING jobs and the creation time (epoch µs) of the oldest, over
        every server sharing the store."""
        return self._store.pending_by_plugin()

    def count_by_status(self, statuses: Collection[JobStatus]) -> dict[JobStatus, int]:
        """Jobs per status, e.g. the queue depth (PENDING) an operator watches."""
        return self._store.count_by_status(statuses)

    def result(self, job_id: str) -> tuple[AnalyzeResponse | None, dict[str, Any]]:
        """``(response, {})`` for a SUCCESS job, ``(None, {"error": ...})`` for a failed or
        cancelled one; raises ``job_not_finished`` while it has not finished."""
        job = self.get(job_id)
        if not job.status.is_terminal:
            raise VisorError(
                f"job {job_id} has not finished (status {job.status})",
                code=ErrorCode.JOB_NOT_FINISHED,
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

    def resolve_tool(self, plugin: str, tool: str | None) -> tuple[str, ToolSpec]:
        """The tool a job on ``plugin`` runs (its default if ``tool`` is None), or 404."""
        record = self._plugins.registry.get(plugin)
        if record is None:
            raise VisorError(
                f"plugin {plugin!r} is not installed",
                code=ErrorCode.PLUGIN_NOT_FOUND,
                details={"available": self._plugins.registry.available_names()},
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
        return name, record.tools[name]


def _check_max_attempts(max_attempts: int | None) -> None:
    if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise VisorError(
            f"max_attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}",
            code=ErrorCode.INVALID_INPUT,
        )


def _elapsed_ms(job: Job) -> float:
    if job.started_at is None or job.finished_at is None:
        return 0.0
    started = datetime.fromisoformat(job.started_at)
    finished = datetime.fromisoformat(job.finished_at)
    return round((finished - started).total_seconds() * 1000.0, 3)
