"""A decoded frame as the image a tool takes: PNG bytes, base64 (lossless, so a code that
reads in the video reads the same through the tool)."""

from __future__ import annotations

import base64
import io

import av

#: zlib level 1: lossless at a fraction of level 6's cost (frames are encoded per call).
_PNG_LEVEL = 1


def frame_payload(frame: av.VideoFrame) -> tuple[str, str]:
    """``(base64 PNG, mime type)`` of one frame."""
    buffer = io.BytesIO()
    frame.to_image().save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return base64.b64encode(buffer.getbuffer()).decode("ascii"), "image/png"
