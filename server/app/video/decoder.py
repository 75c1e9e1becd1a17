"""Decoding in a child process: a hostile file can crash FFmpeg, not the server.

Each video job attempt spawns one decoder process. It opens and probes the file
(:class:`~app.video.source.VideoSource`), applies the sampling rule, and sends the sampled
frames to the job as JPEG (base64) — or, for a tool that takes decoded pixels, as raw RGB
(:mod:`app.plugins.frames`) — one message each. The pipe gives the backpressure: a
frame is sent only once the job has read the previous one, so at most a frame or two are in
flight, and the decoder works on the next frame while the tool runs on this one.

If the decoder dies (an FFmpeg crash on a crafted file, the OOM killer), the job sees the
pipe close and fails with ``invalid_input``: one job lost, not the server. Its heap is
capped (``memory_limit_mb``): a file that makes FFmpeg allocate past it fails its job with
``memory_limit`` instead of taking the machine's memory. If the server
dies, the decoder's next send fails and it exits: no orphan keeps decoding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import mmap
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

from app.errors import ErrorCode, VisorError
from app.plugins.frames import Pixels
from app.plugins.runtime.process.memory import cap_heap
from app.video.frames import FrameEncoder
from app.video.sampling import Sampled, Sampler, SampleRule
from app.video.source import LiveOpen, VideoInfo, VideoSource, refuse

_SPAWN = multiprocessing.get_context("spawn")
_POLL_S = 0.25
_JOIN_S = 5.0


@dataclass(frozen=True)
class DecodeRequest:
    """What the decoder needs; crosses the spawn, so plain data."""

    path: str
    max_pixels: int
    rule: dict[str, Any]
    memory_limit_mb: int | None = None
    last: tuple[int, int, float] | None = None  # the last checkpointed sample
    resume: tuple[int, int] | None = None  # its (pts, frame number), to seek to
    probe_only: bool = False  # send the probe result, then stop (a submit's frame estimate)
    live: LiveRequest | None = None  # a live source (app.sources) instead of a video job
    pixels: bool = False  # send decoded RGB pixels, not JPEG (the tool takes them: frames.py)


@dataclass(frozen=True)
class LiveRequest:
    """A live source: ``path`` is a URL (or a file read like a camera). Frames are sent as
    they come; the reader keeps only the newest (latest wins), so the decoder never waits
    for the tool and a slow tool never makes the stream lag."""

    open: LiveOpen = dataclasses.field(default_factory=LiveOpen)
    loop: bool = False  # a file: start again at its end
    pace: bool = False  # a file: send frames at the video's own rate, as a camera would


@dataclass(frozen=True)
class SampledFrame:
    sample: Sampled
    pts: int | None
    image_b64: str  # "" when the frame came as pixels
    mime_type: str
    captured_at: float | None = None  # wall clock when decoded (live sources)
    pixels: Pixels | None = None


class DecodeCancelled(Exception):
    """The job was cancelled while waiting for a frame."""


class FrameSource:
    """The job's side: start the decoder, read its probe result, then its frames."""

    def __init__(self, request: DecodeRequest, cancelled: Callable[[], bool]) -> None:
        self._request = request
        self._cancelled = cancelled
        self._conn: Connection | None = None
        self._process: SpawnProcess | None = None
        self.decoded = 0  # frames the decoder decoded (set at the end)
        self.decoded_to_s: float | None = None  # time of the last frame it decoded
        self.stopped_by_rule = False  # it stopped at the rule's end_s, not the file's end
        self.info: VideoInfo

    def __enter__(self) -> FrameSource:
        ours, theirs = _SPAWN.Pipe(duplex=False)
        process = _SPAWN.Process(
            target=_serve, args=(theirs, self._request), name="visor-video-decoder", daemon=True
        )
        process.start()
        theirs.close()
        self._conn, self._process = ours, process
        try:
            kind, *body = self._receive()
            if kind != "info":
                raise refuse("the video decoder did not start")
            self.info = VideoInfo(**body[0])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(0.2)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(_JOIN_S)
            self._process.close()
        self._conn = self._process = None

    def samples(self) -> Iterator[SampledFrame]:
        while True:
            kind, *body = self._receive()
            if kind == "sample":
                index, frame, t_s, pts, image, *rest = body
                if isinstance(image, Pixels):
                    yield SampledFrame(Sampled(index, frame, t_s), pts, "", "", pixels=image)
                else:  # rest: its mime type (and, from a live source, when it was captured)
                    yield SampledFrame(Sampled(index, frame, t_s), pts, image, *rest)
            elif kind == "end":
                self.decoded = int(body[0])
                self.decoded_to_s = None if body[1] is None else float(body[1])
                self.stopped_by_rule = bool(body[2])
                return
            else:
                raise refuse("the video decoder sent something unexpected")

    def _receive(self) -> tuple[Any, ...]:
        assert self._conn is not None and self._process is not None
        while not self._conn.poll(_POLL_S):
            if self._cancelled():
                raise DecodeCancelled
        try:
            message: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(_JOIN_S)
            raise refuse(
                "the video decoder stopped on this file (exit code "
                f"{self._process.exitcode}): the file is damaged or hostile"
            ) from None
        if message[0] == "error":
            raise VisorError(message[1], code=ErrorCode(message[2]), details=message[3])
        return message


def probe(
    path: Path, *, max_pixels: int, memory_limit_mb: int | None, timeout_s: float
) -> VideoInfo:
    """The video's probe (size, fps, duration), read by a decoder process like a job's:
    a hostile file costs that process, not the server. Raises the decoder's error, or
    ``invalid_input`` when probing takes longer than ``timeout_s``."""
    request = DecodeRequest(
        path=str(path),
        max_pixels=max_pixels,
        rule={},
        memory_limit_mb=memory_limit_mb,
        probe_only=True,
    )
    deadline = time.monotonic() + timeout_s
    try:
        with FrameSource(request, cancelled=lambda: time.monotonic() > deadline) as source:
            return source.info
    except DecodeCancelled:
        raise refuse(f"probing the video took longer than {timeout_s:g} s") from None


def _serve(conn: Connection, request: DecodeRequest) -> None:
    """The decoder process: probe, decode, sample, encode, send; errors as messages."""
    cap_heap(request.memory_limit_mb)
    info: VideoInfo | None = None
    try:
        if request.live is not None:
            _serve_live(conn, request, request.live)
            return
        with VideoSource(Path(request.path), max_pixels=request.max_pixels) as source:
            info = source.info
            conn.send(("info", dataclasses.asdict(info)))
            if request.probe_only:
                return
            rule = SampleRule.model_validate(request.rule)
            sampler = Sampler.after(rule, Sampled(*request.last)) if request.last else Sampler(rule)
            encoder = FrameEncoder()
            decoded = 0
            decoded_to_s: float | None = None
            stopped_by_rule = False
            for frame in source.frames(start_s=rule.start_s, resume=request.resume):
                decoded += 1
                if sampler.past_end(frame.t_s):
                    stopped_by_rule = True
                    break
                decoded_to_s = frame.t_s
                sample = sampler.take(frame.frame, frame.t_s)
                if sample is None:
                    continue
                head = ("sample", sample.index, sample.frame, sample.t_s, frame.pts)
                if request.pixels:  # raw RGB: no encoding here, no decoding in the worker
                    rgb = frame.image.to_ndarray(format="rgb24")
                    conn.send((*head, Pixels(rgb.shape[1], rgb.shape[0], rgb.tobytes())))
                else:
                    conn.send((*head, *encoder.payload(frame.image)))
            conn.send(("end", decoded, decoded_to_s, stopped_by_rule))
    except (BrokenPipeError, EOFError, ConnectionResetError):
        return  # the job is gone (cancelled, or the server died)
    except VisorError as exc:
        if exc.code is ErrorCode.INVALID_INPUT and _short_of_memory(request, info):
            _send_quietly(conn, _memory_error(request))
        else:
            _send_quietly(conn, ("error", exc.message, exc.code, exc.details))
    except MemoryError:
        _send_quietly(conn, _memory_error(request))
    except Exception as exc:  # a decoder bug: the job fails, this process ends
        message = f"the video could not be decoded ({type(exc).__name__})"
        _send_quietly(conn, ("error", message, "invalid_input", {"field": "video"}))
    finally:
        conn.close()


def _serve_live(conn: Connection, request: DecodeRequest, live: LiveRequest) -> None:
    """A live source: decode as fast as it comes (a file at its own pace), sample, send.

    The time of a frame (``t_s``) runs on across the passes of a looping file, so the
    sampling rule and the tracker see one continuous clock."""
    rule = SampleRule.model_validate(request.rule)
    sampler = Sampler(rule)
    encoder = FrameEncoder()
    decoded = 0
    offset_s = 0.0
    started = time.monotonic()
    first = True
    while True:
        with VideoSource(request.path, max_pixels=request.max_pixels, live=live.open) as source:
            if first:
                conn.send(("info", dataclasses.asdict(source.info)))
                first = False
            frame_s = 1.0 / source.info.fps if source.info.fps else 0.04
            last_t = offset_s
            before = decoded
            for frame in source.frames():
                t_s = offset_s + frame.t_s
                last_t = t_s
                if live.pace:
                    ahead = started + t_s - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                sample = sampler.take(decoded, t_s)
                decoded += 1
                if sample is None:
                    continue
                image_b64, mime_type = encoder.payload(frame.image)
                conn.send(
                    ("sample", sample.index, sample.frame, sample.t_s, frame.pts, image_b64,
                     mime_type, time.time())
                )  # fmt: skip
        if not live.loop or decoded == before:
            conn.send(("end", decoded, last_t, False))
            return
        offset_s = last_t + frame_s


def _short_of_memory(request: DecodeRequest, info: VideoInfo | None) -> bool:
    """Whether a decode failure is the memory cap's doing: FFmpeg reports a failed
    allocation inside a decoder as invalid data, so after a failure, check whether this
    process could still map two RGB frames of the video's size under its cap."""
    if not request.memory_limit_mb or info is None or not info.width or not info.height:
        return False
    try:
        size = info.width * info.height * 3 * 2
        probe = mmap.mmap(
            -1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        )  # counted by the cap, never touched
    except (OSError, MemoryError):
        return True
    probe.close()
    return False


def _memory_error(request: DecodeRequest) -> tuple[Any, ...]:
    limit = request.memory_limit_mb
    message = (
        f"decoding this video needs more than the decoder's {limit} MB memory limit "
        "(VISOR_VIDEO_DECODER_MEMORY_MB)"
    )
    return ("error", message, ErrorCode.MEMORY_LIMIT.value, {"memory_limit_mb": limit})


def _send_quietly(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(BrokenPipeError, EOFError, ConnectionResetError, OSError):
        conn.send(message)
