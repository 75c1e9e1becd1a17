"""Opening a video safely and decoding it frame by frame (PyAV, FFmpeg from the wheel).

The file is probed before a frame is decoded: an unknown or non-video container, no video
stream, a frame size over the pixel limit or a start past the end is refused with
``invalid_input`` and a message a person can act on. Decoding then streams: one frame at a
time is held (plus the decoder's few reference frames), whatever the file's size. FFmpeg's
own messages name the file's path, so they never reach a client; only their reason does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from app.errors import ErrorCode, VisorError
from app.units import megapixels

log = logging.getLogger("visor.video")

#: FFmpeg demuxers Visor reads (mp4/mov, webm/mkv), by any of their comma-separated names.
_CONTAINERS = {"mov", "mp4", "matroska", "webm"}
#: …and those a live source may also be (RTSP, RTMP/FLV, HLS, MPEG-TS, HTTP MJPEG).
_LIVE_CONTAINERS = {"rtsp", "flv", "hls", "applehttp", "mpegts", "mpjpeg", "mjpeg"}


@dataclass(frozen=True)
class LiveOpen:
    """How to open a live source (a URL, or a file read as if it were a camera)."""

    format: str | None = None  # an FFmpeg demuxer name when probing cannot tell (mpjpeg)
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0


@dataclass(frozen=True)
class VideoInfo:
    """What probing the file found (the ``video`` section of a job's result)."""

    container: str
    codec: str
    width: int
    height: int
    fps: float | None
    duration_s: float | None
    frame_count: int | None  # as the container declares it; None when it does not

    def public(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3) if self.fps else None,
            "duration_s": round(self.duration_s, 3) if self.duration_s is not None else None,
        }


@dataclass(frozen=True)
class DecodedFrame:
    frame: int  # decoded frame number from the start of the video
    pts: int | None
    t_s: float
    image: av.VideoFrame


def refuse(message: str, **details: Any) -> VisorError:
    return VisorError(message, code=ErrorCode.INVALID_INPUT, details={"field": "video", **details})


def _reason(exc: BaseException) -> str:
    """FFmpeg's reason without the file path it puts in ``str(exc)``."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else type(exc).__name__


class VideoSource(contextlib.AbstractContextManager["VideoSource"]):
    """An opened, probed video file. Use as a context manager; decode with :meth:`frames`."""

    def __init__(self, path: Path | str, *, max_pixels: int, live: LiveOpen | None = None) -> None:
        self._live = live
        self._max_pixels = max_pixels
        try:
            if live is None:
                self._container = av.open(str(path), mode="r", metadata_errors="ignore")
            else:
                self._container = av.open(
                    str(path),
                    mode="r",
                    format=live.format,
                    options={"rtsp_transport": "tcp"} if str(path).startswith("rtsp") else {},
                    metadata_errors="ignore",
                    timeout=(live.open_timeout_s, live.read_timeout_s),
                )
        except av.error.EOFError:
            raise refuse(
                "the file ends before its first video frame (it is empty or truncated)"
            ) from None
        except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
            raise refuse(
                "the file is not a video Visor can read (mp4, webm, mov, mkv), or it is "
                f"damaged or incomplete: {_reason(exc)}"
            ) from None
        try:
            self.info = self._probe(max_pixels)
        except BaseException:
            self._container.close()
            raise
        self._stream = self._container.streams.video[0]

    def _probe(self, max_pixels: int) -> VideoInfo:
        container = self._container
        names = set(container.format.name.split(","))
        allowed = _CONTAINERS if self._live is None else _CONTAINERS | _LIVE_CONTAINERS
        if not names & allowed:
            raise refuse(
                f"the file is a {container.format.long_name or container.format.name}, not a "
                "video container Visor reads (mp4, webm, mov, mkv)",
                container=container.format.name,
            )
        if not container.streams.video:
            raise refuse("the file has no video stream (audio only, or no frames at all)")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if (width <= 0 or height <= 0) and self._live is None:
            raise refuse("the video stream declares no frame size; the file is damaged")
        if width * height > max_pixels:
            raise refuse(
                f"the video's frames are {width}x{height} ({megapixels(width * height)}), "
                f"over the limit of {megapixels(max_pixels)} per frame "
                "(VISOR_MAX_IMAGE_PIXELS); scale the video down first",
                width=width,
                height=height,
                limit_pixels=max_pixels,
                setting="VISOR_MAX_IMAGE_PIXELS",
            )
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        duration_s: float | None = None
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        return VideoInfo(
            container=container.format.name,
            codec=ctx.name,
            width=width,
            height=height,
            fps=fps,
            duration_s=duration_s,
            frame_count=int(stream.frames) or None,
        )

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def frames(
        self, *, start_s: float = 0.0, resume: tuple[int, int] | None = None
    ) -> Iterator[DecodedFrame]:
        """Frames in presentation order, from ``start_s`` or from ``resume`` = (pts, frame
        number) of the last frame a previous attempt finished (seeking, not decoding from
        the start). Frames before the starting point are skipped cheaply."""
        stream = self._stream
        time_base = stream.time_base
        fps = self.info.fps
        target_pts: int | None = None
        if resume is not None:
            target_pts = resume[0]
        elif start_s > 0 and time_base:
            target_pts = int(start_s / time_base)
        counted = 0
        numbered = target_pts is None  # from the first frame, numbers are exact
        if target_pts is not None:
            try:
                self._container.seek(target_pts, stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError as exc:
                raise refuse(f"the video cannot be seeked: {_reason(exc)}") from None
        decoded = self._container.decode(stream)
        while True:
            try:
                frame = next(decoded)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                raise refuse(
                    f"the video is damaged after frame {counted}: {_reason(exc)}",
                    frames_decoded=counted,
                ) from None
            t_s = float(frame.time) if frame.time is not None else (counted / fps if fps else 0)
            if not numbered:
                assert target_pts is not None
                if frame.pts is not None and frame.pts < target_pts:
                    continue  # before the seek target (decoded from the keyframe)
                if resume is not None and frame.pts == resume[0]:
                    counted = resume[1]
                elif resume is not None:
                    counted = resume[1] + 1
                else:
                    counted = round(t_s * fps) if fps else 0
                numbered = True
            declared = self.info.width * self.info.height * 4 or self._max_pixels
            if frame.width * frame.height > min(declared, self._max_pixels * 4):
                raise refuse("a frame of the video is much larger than its stream declares")
            yield DecodedFrame(counted, frame.pts, t_s, frame)
            counted += 1
