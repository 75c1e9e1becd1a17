"""VideoService: accepts video jobs and wires their runner into the job dispatcher.

At submit it checks what can be checked cheaply — the target tool or pipeline exists and
takes an image, the args fit the tool's schema, the video is within its size limit — and
moves the video into the job's input files (streamed from the upload, or linked from an
uploaded file), so an expiring file id cannot fail the job. It then probes the video in a
decoder process (as the job will) and refuses a sampling rule whose estimate is over
``VISOR_VIDEO_MAX_FRAMES``, before any frame is processed; the job keeps its own check
for what the estimate cannot see. A file whose first bytes are no video container (an
image, a text file) is refused at submit, as ``/v1/files`` refuses a file that is no
image; whether a container's contents decode is the job's to find out: a hostile file
ends the job FAILED with ``invalid_input``, like every other input a running job rejects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from app.errors import ErrorCode, VisorError
from app.files.owner import current_owner
from app.files.sniff import sniff_video_type
from app.files.store import FileStore
from app.jobs.idempotency import Idempotency
from app.jobs.models import Job
from app.jobs.store.input_files import JobInputFiles
from app.jobs.store.repository import JobInput
from app.pipelines.plan import plan
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineService
from app.plugins.images import describe_bytes, sniff_mime_type
from app.plugins.runtime.validation import summarise, validator_for
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings
from app.units import human_bytes, limit_text
from app.video.checkpoints import CheckpointStore
from app.video.decoder import probe
from app.video.models import (
    VIDEO_JOB_PLUGIN,
    PipelineTarget,
    StoredVideo,
    ToolTarget,
    VideoJobInput,
    VideoJobRequest,
)
from app.video.runner import VideoJobRunner, VideoOptions
from app.video.sampling import SampleRule

_CHUNK = 1024 * 1024
_IMAGE_FIELDS = {"image", "image_ref", "image_url", "image_path", "mime_type"}
_PLACEHOLDER_PNG = "iVBORw0KGgo="  # stands in for the frame while args are checked
_PROBE_TIMEOUT_S = 30.0  # reading a video's header; a file that takes longer is the job's


class VideoService:
    def __init__(
        self,
        jobs: JobManagementService,
        plugins: PluginManagementService,
        pipelines: PipelineService,
        files: FileStore | None,
        *,
        max_video_bytes: int = 2 * 1024 * 1024 * 1024,
        options: VideoOptions | None = None,
    ) -> None:
        self._jobs = jobs
        self._plugins = plugins
        self._pipelines = pipelines
        self._files = files
        self._max_bytes = max_video_bytes
        self._options = options or VideoOptions()
        self._checkpoints = CheckpointStore(jobs.store.engine)
        self._runner = VideoJobRunner(
            plugins,
            pipelines,
            jobs.store,
            self._checkpoints,
            lambda: jobs.dispatcher.worker_id,
            options,
            stopping=lambda: jobs.dispatcher.stopping,
        )
        jobs.run_kind_with(VIDEO_JOB_PLUGIN, self._runner.run)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        jobs: JobManagementService,
        plugins: PluginManagementService,
        pipelines: PipelineService,
        files: FileStore | None,
    ) -> VideoService:
        return cls(
            jobs,
            plugins,
            pipelines,
            files,
            max_video_bytes=settings.max_video_bytes,
            options=VideoOptions(
                max_pixels=settings.max_image_pixels,
                max_frames=settings.video_max_frames,
                checkpoint_frames=settings.video_checkpoint_frames,
                checkpoint_s=settings.video_checkpoint_s,
                max_result_bytes=settings.max_result_bytes,
                decoder_memory_mb=settings.video_decoder_memory_mb or None,
                pixels=settings.video_pixels,
                batch_frames=settings.batching,
            ),
        )

    @property
    def checkpoints(self) -> CheckpointStore:
        return self._checkpoints

    def check_nesting(self, args: object) -> None:
        """Refuse arguments nested past ``VISOR_MAX_ARGS_DEPTH`` before anything reads them
        (the Idempotency-Key fingerprint serialises the whole submission)."""
        self._plugins.inputs.check_nesting(args)

    def submit(
        self,
        request: VideoJobRequest,
        upload: BinaryIO | None = None,
        filename: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> Job:
        """Accept a video job (202): the video is pinned into the job's input files."""
        target = self._target(request)
        staged, video = self._stage(request, upload, filename)
        files = self._input_files()
        try:
            self._check_frames(request.sample, staged)
        except BaseException:
            files.discard(staged)
            raise
        stored = VideoJobInput(
            target=target, sample=request.sample, video=video, frames=request.frames
        )
        try:
            return self._jobs.submit_input(
                VIDEO_JOB_PLUGIN,
                stored.job_tool,
                JobInput(stored.model_dump(mode="json"), media=staged),
                max_attempts=request.max_attempts,
                idempotency=idempotency,
            )
        finally:
            files.discard(staged)  # moved in on success; ours to clean otherwise

    # -- checks -----------------------------------------------------------------------------

    def _target(self, request: VideoJobRequest) -> ToolTarget | PipelineTarget:
        if request.pipeline is not None:
            saved = self._pipelines.store.get(request.pipeline).spec
            plan(saved, self._plugins.registry)  # its tools still exist and fit
            return PipelineTarget(pipeline=request.pipeline, spec=saved.model_dump(mode="json"))
        assert request.plugin is not None
        if request.plugin in (VIDEO_JOB_PLUGIN, PIPELINE_JOB_PLUGIN):
            raise _refuse(f"{request.plugin!r} is not a tool; name a plugin or a pipeline")
        tool, spec = self._jobs.resolve_tool(request.plugin, request.tool)
        properties = spec.input_schema.get("properties") or {}
        if properties and "image" not in properties:  # none declared: it takes anything
            raise _refuse(
                f"{request.plugin}.{tool} takes no image, so it cannot run on video frames",
                field="plugin",
            )
        given = _IMAGE_FIELDS.intersection(request.args)
        if given:
            raise _refuse(f"args may not set {sorted(given)}: each frame is the image")
        instance = {**request.args, "image": _PLACEHOLDER_PNG} if properties else request.args
        problems = validator_for(spec.input_schema).errors(instance)
        if problems:
            raise _refuse(
                f"args do not fit {request.plugin}.{tool}: {summarise(problems)}",
                errors=problems,
            )
        return ToolTarget(plugin=request.plugin, tool=tool, args=request.args)

    def _check_frames(self, rule: SampleRule, staged: str) -> None:
        """Refuse a rule that would sample more than the frame cap, from the probe."""
        options = self._options
        ceiling = rule.estimate(rule.end_s, None)  # a rate and an end: known without the video
        if ceiling is not None and ceiling <= options.max_frames:
            return  # no probe needed (it costs a decoder process)
        try:
            with self._input_files().media_file(staged) as path:
                info = probe(
                    path,
                    max_pixels=options.max_pixels,
                    memory_limit_mb=options.decoder_memory_mb,
                    timeout_s=_PROBE_TIMEOUT_S,
                )
        except VisorError:
            return  # unreadable: the job says why, as for any hostile file
        estimate = rule.estimate(info.duration_s, info.fps)
        if estimate is not None and estimate > options.max_frames:
            duration = f"{info.duration_s:.1f} s" if info.duration_s is not None else "?"
            raise _refuse(
                f"the sampling rule would take about {estimate} frames of this video "
                f"({duration}); the limit is {options.max_frames} frames per job "
                "(VISOR_VIDEO_MAX_FRAMES): sample fewer (a lower fps, a larger "
                "every_n_frames, a time range with start_s/end_s)",
                field="sample",
                estimate_frames=estimate,
                limit_frames=options.max_frames,
            )

    # -- the video's bytes ------------------------------------------------------------------

    def _input_files(self) -> JobInputFiles:
        files = self._jobs.store.input_files
        if files is None:
            raise VisorError("video jobs need the job input files area", code=ErrorCode.INTERNAL)
        return files

    def _stage(
        self, request: VideoJobRequest, upload: BinaryIO | None, filename: str | None
    ) -> tuple[str, StoredVideo]:
        """The video as a staged blob beside the job inputs (streamed, never held whole)."""
        files = self._input_files()
        if upload is not None and request.video_ref is not None:
            raise _refuse("give the video as a file part or as video_ref, not both")
        if upload is not None:
            counted = _Counted(upload, self._max_bytes)
            staged = files.stage(counted.chunks())
            video = StoredVideo(filename=filename, size_bytes=counted.size)
        elif request.video_ref is not None:
            if self._files is None:
                raise _refuse("video_ref needs a server with uploaded files", field="video_ref")
            key, info = self._files.blob(request.video_ref, current_owner())
            if info.size_bytes > self._max_bytes:
                raise _too_large(self._max_bytes)
            staged = files.staging_key()
            try:  # a link or a copy inside the store: the upload may expire, the job's stays
                files.blobs.copy_from(self._files.blobs, key, staged)
            except BaseException:
                files.discard(staged)
                raise
            video = StoredVideo(filename=info.filename, size_bytes=info.size_bytes)
        else:
            raise _refuse(
                "give the video: video_ref (an id from POST /v1/files) or a multipart 'file' part",
                field="video_ref",
            )
        try:
            _check_container(next(iter(files.blobs.read_chunks(staged)), b"")[:512])
        except BaseException:
            files.discard(staged)
            raise
        return staged, video



class _Counted:
    """An uploaded video's chunks on their way to the blob store: counted and capped."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.size = 0

    def chunks(self) -> Iterator[bytes]:
        while chunk := self._source.read(_CHUNK):
            self.size += len(chunk)
            if self.size > self._limit:
                raise _too_large(self._limit)
            yield chunk


def _check_container(head: bytes) -> None:
    """Refuse a file whose first bytes (``head``) are no video container Visor decodes."""
    if sniff_video_type(head[:64]) is not None:
        return
    image = sniff_mime_type(head)
    if image is not None:
        raise _refuse(
            f"the file is an image ({image}), not a video: run a tool on it directly "
            "(POST /v1/plugins/{plugin}/tools/{tool}/run, or `visor run PLUGIN.TOOL FILE`)",
            field="video",
            looks_like=image,
        )
    looks = "an empty file" if not head else describe_bytes(head)
    raise _refuse(
        f"the file is not a video: the bytes look like {looks} (video jobs take mp4, mov, "
        "webm and mkv)",
        field="video",
        looks_like=looks,
    )


def _refuse(message: str, field: str = "args", **details: Any) -> VisorError:
    return VisorError(message, code=ErrorCode.INVALID_INPUT, details={"field": field, **details})


def _too_large(limit: int) -> VisorError:
    return VisorError(
        f"the video is larger than {human_bytes(limit)}; "
        f"{limit_text(human_bytes(limit), 'VISOR_MAX_VIDEO_BYTES')}",
        code=ErrorCode.PAYLOAD_TOO_LARGE,
        details={"field": "video", "limit_bytes": limit, "setting": "VISOR_MAX_VIDEO_BYTES"},
    )
