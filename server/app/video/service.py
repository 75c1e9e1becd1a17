"""VideoService: accepts video jobs and wires their runner into the job dispatcher.

At submit it checks what can be checked cheaply — the target tool or pipeline exists and
takes an image, the args fit the tool's schema, the video is within its size limit — and
moves the video into the job's input files (streamed from the upload, or linked from an
uploaded file), so an expiring file id cannot fail the job. It then probes the video in a
decoder process (as the job will) and refuses a sampling rule whose estimate is over
``VISOR_VIDEO_MAX_FRAMES``, before any frame is processed; the job keeps its own check
for what the estimate cannot see. Whether the bytes are a readable video is the job's to
find out: a hostile file ends the job FAILED with ``invalid_input``, like every other
input a running job rejects.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from app.errors import ErrorCode, VisorError
from app.files.owner import current_owner
from app.files.store import FileStore
from app.jobs.idempotency import Idempotency
from app.jobs.models import Job
from app.jobs.store.repository import JobInput
from app.pipelines.plan import plan
from app.pipelines.service import PIPELINE_JOB_PLUGIN, PipelineService
from app.plugins.runtime.validation import summarise, validator_for
from app.services.job_management_service import JobManagementService
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings
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
        try:
            self._check_frames(request.sample, staged)
        except BaseException:
            staged.unlink(missing_ok=True)
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
            staged.unlink(missing_ok=True)  # moved in on success; ours to clean otherwise

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

    def _check_frames(self, rule: SampleRule, staged: Path) -> None:
        """Refuse a rule that would sample more than the frame cap, from the probe."""
        options = self._options
        ceiling = rule.estimate(rule.end_s, None)  # a rate and an end: known without the video
        if ceiling is not None and ceiling <= options.max_frames:
            return  # no probe needed (it costs a decoder process)
        try:
            info = probe(
                staged,
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

    def _stage(
        self, request: VideoJobRequest, upload: BinaryIO | None, filename: str | None
    ) -> tuple[Path, StoredVideo]:
        """The video as a file in the job inputs' staging area (never held in memory)."""
        files = self._jobs.store.input_files
        if files is None:
            raise VisorError("video jobs need the job input files area", code=ErrorCode.INTERNAL)
        staged = files.staging() / f"{uuid.uuid4().hex}.part"
        if upload is not None and request.video_ref is not None:
            raise _refuse("give the video as a file part or as video_ref, not both")
        try:
            if upload is not None:
                size = self._copy(upload, staged)
            elif request.video_ref is not None:
                if self._files is None:
                    raise _refuse("video_ref needs a server with uploaded files", field="video_ref")
                source, info = self._files.local_path(request.video_ref, current_owner())
                if info.size_bytes > self._max_bytes:
                    raise _too_large(self._max_bytes)
                _link_or_copy(source, staged)
                size, filename = info.size_bytes, info.filename
            else:
                raise _refuse(
                    "give the video: video_ref (an id from POST /v1/files) or a multipart "
                    "'file' part",
                    field="video_ref",
                )
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return staged, StoredVideo(filename=filename, size_bytes=size)

    def _copy(self, source: BinaryIO, target: Path) -> int:
        size = 0
        with open(target, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > self._max_bytes:
                    raise _too_large(self._max_bytes)
                out.write(chunk)
        return size


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (instant; the upload may expire, the job's name stays), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        shutil.copyfile(source, target)


def _refuse(message: str, field: str = "args", **details: Any) -> VisorError:
    return VisorError(message, code=ErrorCode.INVALID_INPUT, details={"field": field, **details})


def _too_large(limit: int) -> VisorError:
    return VisorError(
        f"the video is larger than the limit of {limit} bytes (VISOR_MAX_VIDEO_BYTES)",
        code=ErrorCode.PAYLOAD_TOO_LARGE,
        details={"field": "video", "limit_bytes": limit},
    )
