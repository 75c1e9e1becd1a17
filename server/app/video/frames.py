"""A decoded frame as the image a tool takes: a high-quality JPEG, base64.

The frame is already lossy (H.264, VP9…); at JPEG quality ~95 a code or a face that reads
in the video reads the same through the tool. FFmpeg's own MJPEG encoder takes the decoded
YUV frame as it is (no RGB round trip) and costs about a third of PIL's JPEG per 720p frame;
PNG costs ten times more (zlib on camera noise) and BMP ten times the bytes through the
worker pipe (``bench/video.py`` prints the cost next to decoding alone). A frame FFmpeg's
encoder refuses goes through PIL instead.
"""

from __future__ import annotations

import base64
import io
from fractions import Fraction

import av
import av.error

#: MJPEG quantiser (1 best … 31 worst); 2 is about JPEG quality 95.
_QSCALE = 2
_PIL_QUALITY = 95


class FrameEncoder:
    """Encodes one job's frames (one encoder, reopened only if the frame size changes)."""

    def __init__(self) -> None:
        self._ctx: av.VideoCodecContext | None = None
        self._size: tuple[int, int] | None = None

    def payload(self, frame: av.VideoFrame) -> tuple[str, str]:
        """``(base64 JPEG, mime type)`` of one frame."""
        try:
            data = self._mjpeg(frame)
        except (av.error.FFmpegError, ValueError):
            data = _pil_jpeg(frame)
        return base64.b64encode(data).decode("ascii"), "image/jpeg"

    def _mjpeg(self, frame: av.VideoFrame) -> bytes:
        size = (frame.width, frame.height)
        if self._ctx is None or self._size != size:
            ctx = av.CodecContext.create("mjpeg", "w")
            assert isinstance(ctx, av.VideoCodecContext)
            ctx.width, ctx.height = size
            ctx.pix_fmt = "yuvj420p"
            ctx.time_base = Fraction(1, 25)
            ctx.qmin = ctx.qmax = _QSCALE
            self._ctx, self._size = ctx, size
        packets = self._ctx.encode(frame.reformat(format="yuvj420p"))
        if not packets:
            raise ValueError("the encoder returned no packet")
        return bytes(packets[0])


def _pil_jpeg(frame: av.VideoFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_image().save(buffer, format="JPEG", quality=_PIL_QUALITY)
    return buffer.getvalue()
