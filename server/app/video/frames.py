"""A decoded frame as the image a tool takes: JPEG at quality 95, base64.

The frame is already lossy (H.264, VP9…), and at quality 95 a code or a face that reads in
the video reads the same through the tool; PNG costs several times more per 720p frame
(zlib on camera noise) and BMP ten times the bytes through the worker pipe
(``bench/video.py`` prints the cost next to decoding alone).
"""

from __future__ import annotations

import base64
import io

import av

_QUALITY = 95


def frame_payload(frame: av.VideoFrame) -> tuple[str, str]:
    """``(base64 JPEG, mime type)`` of one frame."""
    buffer = io.BytesIO()
    frame.to_image().save(buffer, format="JPEG", quality=_QUALITY)
    return base64.b64encode(buffer.getbuffer()).decode("ascii"), "image/jpeg"
