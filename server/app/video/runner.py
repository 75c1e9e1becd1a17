"""Running one video job: decode, sample, one governed tool call per frame, checkpoint.

The dispatcher calls :meth:`VideoJobRunner.run` like any job's call, inside the job's
``CallContext`` (its ``call_id`` is the job id). A decoder process
(:mod:`app.video.decoder`) sends the sampled frames; each goes through
:mod:`app.video.targets` (``PluginManagementService.run``) inside a child context that
shares the job's cancel event but not its progress sink: a cancel stops the decoder and
the tool mid-frame; a tool's own progress does not overwrite the job's (frames done /
total).

A frame the tool refuses or fails on (bad input, tool error, timeout, crash) records its
error and the job goes on; anything that means the target cannot run at all (plugin
missing or unavailable, cancelled, a Visor bug) ends the run with that envelope. Finished
frames are checkpointed every ``checkpoint_frames`` frames or ``checkpoint_s`` seconds;
the next attempt of the job reads them back and seeks past them.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.errors import ErrorCode, VisorError, build_envelope, envelope_from_exception, public_error
from app.jobs.store.repository import JobStore
from app.pipelines.runner import Outcome
from app.pipelines.service import PipelineService
from app.plugins.frames import reference
from app.plugins.runtime.executor import CallContext, call_context, current_call_context
from app.services.plugin_management_service import PluginManagementService
from app.tracing import spans as tracing
from app.video.checkpoints import CheckpointStore, FrameRecord, NotOwner
from app.video.decoder import DecodeCancelled, DecodeRequest, FrameSource, SampledFrame
from app.video.models import PipelineTarget, VideoJobInput
from app.video.source import VideoInfo, refuse
from app.video.summary import SummaryBuilder
from app.video.targets import FrameTarget, PipelineFrames, ToolFrames

log = logging.getLogger("visor.video")

#: Errors that belong to one frame: recorded in its entry, the job goes on.
FRAME_ERRORS = frozenset(
    {
        ErrorCode.INVALID_INPUT.value,
        ErrorCode.INVALID_OUTPUT.value,
        ErrorCode.TOOL_ERROR.value,
        ErrorCode.TIMEOUT.value,
        ErrorCode.WORKER_CRASHED.value,
        ErrorCode.MEMORY_LIMIT.value,
    }
)
_OVERLOAD_RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class VideoOptions:
    max_pixels: int = 50_000_000
    max_frames: int = 100_000
    checkpoint_frames: int = 25
    checkpoint_s: float = 5.0
    max_result_bytes: int = 32 * 1024 * 1024
    decoder_memory_mb: int | None = 2048
    pixels: bool = True  # raw RGB frames for tools that take pixels (app.plugins.frames)
    batch_frames: bool = True  # several frames in a batching tool at once (its batch size)


class _Cancelled(Exception):
    pass


def _ended_early(info: VideoInfo, source: FrameSource) -> bool:
    """Whether the frames ran out well before the duration the file declares: a truncated
    WebM or MKV keeps its header (and its duration) and decodes cleanly up to the cut, so
    the job succeeds on what is there and says so. An mp4 cut short loses its index and
    fails at open instead."""
    end, declared = source.decoded_to_s, info.duration_s
    if source.stopped_by_rule or end is None or not declared:
        return False
    frame_s = 1.0 / info.fps if info.fps else 0.0
    return declared - (end + frame_s) > max(1.0, 0.1 * declared)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class _Listing:
    """The ``frames`` of the result: all of them, up to a size (the summary has them all).

    A long video's per-frame results could outgrow what a job row should hold (and the
    memory of the job): past ``max_bytes`` of JSON the list stops growing and the result
    says how many it lists (``video.frames_listed``)."""

    def __init__(self, wanted: bool, max_bytes: int) -> None:
        self.entries: list[dict[str, Any]] = []
        self._open = wanted
        self._room = max_bytes

    def add(self, entry: dict[str, Any]) -> None:
        if not self._open:
            return
        size = len(orjson.dumps(entry))
        if size > self._room:
            self._open = False
            return
        self._room -= size
        self.entries.append(entry)


class _JobError(Exception):
    """A frame's error that ends the job (the target cannot run at all)."""

    def __init__(self, envelope: dict[str, Any]) -> None:
        super().__init__(envelope["error"]["message"])
        self.envelope = envelope


class VideoJobRunner:
    def __init__(
        self,
        plugins: PluginManagementService,
        pipelines: PipelineService,
        store: JobStore,
        checkpoints: CheckpointStore,
        worker_id: Callable[[], str],
        options: VideoOptions | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._plugins = plugins
        self._pipelines = pipelines
        self._store = store
        self._checkpoints = checkpoints
        self._worker_id = worker_id
        self._options = options or VideoOptions()
        self._stopping = stopping

    def run(self, payload: dict[str, Any]) -> Outcome:
        """The job's ``(result, {})`` or ``({}, envelope)``; never raises for bad input."""
        ctx = current_call_context()
        if ctx is None:
            return {}, build_envelope(ErrorCode.INTERNAL, "a video job runs inside a job")
        try:
            return _Run(self, ctx.call_id, ctx, VideoJobInput.model_validate(payload)).run()
        except VisorError as exc:
            return {}, envelope_from_exception(exc)
        except _JobError as exc:
            return {}, exc.envelope
        except (_Cancelled, NotOwner):
            return {}, build_envelope(ErrorCode.CANCELLED, "the job was cancelled")

    def target(self, stored: VideoJobInput) -> FrameTarget:
        if isinstance(stored.target, PipelineTarget):
            return PipelineFrames(self._pipelines, stored.target)
        return ToolFrames(self._plugins, stored.target)


class _Run:
    """One attempt of one video job."""

    def __init__(
        self, runner: VideoJobRunner, job_id: str, ctx: CallContext, stored: VideoJobInput
    ) -> None:
        self._runner = runner
        self._job_id = job_id
        self._ctx = ctx
        self._stored = stored
        self._options = runner._options
        self._pending: list[FrameRecord] = []
        self._last_flush = time.monotonic()

    def run(self) -> Outcome:
        runner, job_id = self._runner, self._job_id
        runner._checkpoints.sweep()  # checkpoints of jobs that ended some other way
        files = runner._store.input_files
        if files is None or not files.has_media(job_id):
            return {}, build_envelope(
                ErrorCode.INTERNAL,
                f"the video of job {job_id} is missing (servers sharing a job store must "
                "share their data directory, or keep blobs in the database: "
                "VISOR_BLOB_URL=database)",
            )
        # The decoder reads a file: the blob itself on a local store, else a streamed copy.
        with files.media_file(files.media_key(job_id)) as path:
            return self._decode(path)

    def _decode(self, path: Path) -> Outcome:
        runner, job_id, rule = self._runner, self._job_id, self._stored.sample
        done = runner._checkpoints.load(job_id)
        target = runner.target(self._stored)
        summary = SummaryBuilder()
        listed = _Listing(self._stored.frames, self._options.max_result_bytes)
        for record in done:
            summary.add(record.entry)
            listed.add(record.entry)
        sampled = len(done)
        last = done[-1] if done else None
        request = DecodeRequest(
            path=str(path),
            max_pixels=self._options.max_pixels,
            memory_limit_mb=self._options.decoder_memory_mb,
            rule=rule.model_dump(),
            last=(last.sample.index, last.sample.frame, last.sample.t_s) if last else None,
            resume=(last.pts, last.sample.frame) if last and last.pts is not None else None,
            pixels=self._options.pixels and target.takes_pixels,
        )
        with FrameSource(request, cancelled=lambda: self._ctx.cancelled) as source:
            info = source.info
            if info.duration_s is not None and rule.start_s >= info.duration_s > 0:
                raise refuse(
                    f"start_s {rule.start_s} is past the end of the video ({info.duration_s:.3f} s)"
                )
            total = rule.estimate(info.duration_s, info.fps)
            window = target.in_flight if self._options.batch_frames else 1
            frames = _FrameWindow(self, target, window)
            try:
                for frame in source.samples():
                    if self._ctx.cancelled:
                        raise _Cancelled
                    sample = frame.sample
                    if sample.index >= self._options.max_frames:
                        raise refuse(
                            f"the rule samples more than {self._options.max_frames} frames; "
                            "sample fewer (a lower fps, a larger every_n_frames, a time range)",
                            limit_frames=self._options.max_frames,
                        )
                    for done_frame, entry in frames.add(frame):
                        sampled += 1
                        listed.add(entry)
                        summary.add(entry)
                        self._pending.append(FrameRecord(done_frame.sample, done_frame.pts, entry))
                        self._report(sampled, total)
                        self._maybe_flush()
                for done_frame, entry in frames.drain():
                    sampled += 1
                    listed.add(entry)
                    summary.add(entry)
                    self._pending.append(FrameRecord(done_frame.sample, done_frame.pts, entry))
                    self._report(sampled, total)
                    self._maybe_flush()
            except DecodeCancelled:
                raise _Cancelled from None
            finally:
                frames.close()  # frames still in a tool finish (or see the cancel) first
                self._flush()  # what is done stays done, whatever ends this attempt
            if not sampled and source.decoded == 0:
                raise refuse("the video has no frames")
            self._report_done(sampled)
        # The checkpoints stay until the job is recorded as finished: a crash before that
        # must not cost the frames. The next video job's sweep removes them.
        return {
            "video": {
                **info.public(),
                "frames_sampled": sampled,
                "frames_listed": len(listed.entries),
                "frames_resumed": len(done),
                "sample": rule.model_dump(exclude_none=True),
                "decoded_to_s": _rounded(source.decoded_to_s),
                "incomplete": _ended_early(info, source),
            },
            "target": self._stored.target.model_dump(exclude={"spec", "args"}),
            "frames": listed.entries,
            "summary": summary.build(),
        }, {}

    def _frame_span(self, index: int, t_s: float) -> AbstractContextManager[Any]:
        """``visor.video.frame`` for the sampled frames; the others record no spans."""
        if not tracing.enabled():
            return contextlib.nullcontext()
        attributes = {"visor.frame.index": index, "visor.frame.t_s": t_s}
        return tracing.sampled("visor.video.frame", index, attributes)

    def _run_frame(
        self, target: FrameTarget, frame: SampledFrame, index: int, t_s: float
    ) -> dict[str, Any]:
        image_b64, mime_type = frame.image_b64, frame.mime_type
        attachments = None
        if frame.pixels is not None:  # decoded pixels ride with the call, named in the payload
            image_b64, mime_type = reference(f"{self._job_id}-{index}"), "image/png"
            attachments = {image_b64: frame.pixels}
        child = CallContext(
            call_id=f"{self._job_id}-{index}",
            cancel_event=self._ctx.cancel_event,
            timeout_s=self._ctx.timeout_s,
            attachments=attachments,
        )
        while True:
            with call_context(child), self._frame_span(index, t_s):
                result, error = target.run(image_b64, mime_type)
            if not error:
                return {"index": index, "t_s": round(t_s, 6), "result": result}
            details = error["error"].get("details", {})
            code = details.get("code")
            if code == ErrorCode.OVERLOADED.value:
                delay = min(_OVERLOAD_RETRY_MAX_S, float(details.get("retry_after_s") or 0.1))
                if self._ctx.cancel_event.wait(delay):
                    raise _Cancelled
                continue
            if code == ErrorCode.CANCELLED.value or self._ctx.cancelled:
                raise _Cancelled
            if self._runner._stopping():
                # The executor is going down with the server: not this frame's fault. The
                # job goes back to the queue and resumes after its last finished frame.
                raise _Cancelled
            if code in FRAME_ERRORS:
                section = public_error(error)["error"]
                section.pop("timestamp", None)
                return {"index": index, "t_s": round(t_s, 6), "error": section}
            raise _JobError(error)

    def _report(self, done: int, total: int | None) -> None:
        sink = self._ctx.progress
        if sink is None:
            return
        if total:
            sink(min(0.99, done / total), f"frames {done}/{total}")
        else:
            sink(0.0, f"frames {done}")

    def _report_done(self, done: int) -> None:
        """The last word, past the throttle (fraction 1.0): "frames 12/12", the true count
        (the total was an estimate, and a throttled last report would leave a stale one)."""
        if self._ctx.progress is not None:
            self._ctx.progress(1.0, f"frames {done}/{done}")

    def _maybe_flush(self) -> None:
        opts = self._options
        due = time.monotonic() - self._last_flush >= opts.checkpoint_s
        if len(self._pending) >= opts.checkpoint_frames or due:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._runner._checkpoints.append(self._job_id, self._runner._worker_id(), self._pending)
            self._pending = []
        self._last_flush = time.monotonic()


class _FrameWindow:
    """The frames of one attempt that are in the tool at once, answered in order.

    For most tools one frame at a time, on the job's thread. For a tool that batches, up
    to its batch size, each on a thread of its own, so the frames reach the tool together
    and go to a worker as one batch; their entries still come back in frame order, so
    checkpoints, progress and the result are the same as one at a time."""

    def __init__(self, run: _Run, target: FrameTarget, size: int) -> None:
        self._run = run
        self._target = target
        self._size = max(1, size)
        self._threads: ThreadPoolExecutor | None = None
        self._waiting: collections.deque[tuple[SampledFrame, Future[dict[str, Any]]]] = (
            collections.deque()
        )

    def add(self, frame: SampledFrame) -> list[tuple[SampledFrame, dict[str, Any]]]:
        """Send ``frame`` to the tool; the frames answered meanwhile, oldest first."""
        sample = frame.sample
        if self._size == 1:
            return [(frame, self._run._run_frame(self._target, frame, sample.index, sample.t_s))]
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self._size, thread_name_prefix="visor-frames")
        context = contextvars.copy_context()
        future = self._threads.submit(
            context.run, self._run._run_frame, self._target, frame, sample.index, sample.t_s
        )
        self._waiting.append((frame, future))
        done = []
        while self._waiting and (len(self._waiting) >= self._size or self._waiting[0][1].done()):
            oldest, answer = self._waiting.popleft()
            done.append((oldest, answer.result()))  # raises what the frame raised
        return done

    def drain(self) -> list[tuple[SampledFrame, dict[str, Any]]]:
        done = []
        while self._waiting:
            oldest, answer = self._waiting.popleft()
            done.append((oldest, answer.result()))
        return done

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)
