"""Frames for stream tests."""

from __future__ import annotations

import io

from PIL import Image


def frame(width: int, height: int = 8, fmt: str = "PNG") -> bytes:
    """An encoded frame whose width identifies it."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (width % 256, 40, 90)).save(buf, fmt)
    return buf.getvalue()
