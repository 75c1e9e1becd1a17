"""Turning a page by quarter turns and mapping what was read back onto the input image.

The OCR engines read a page after it has been turned upright; callers get coordinates in
the image they sent, so every box and point found on the turned copy is turned back.
"""

from __future__ import annotations

from PIL import Image

#: PIL's transpose operations that turn an image clockwise by 90, 180 and 270 degrees.
_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """``image`` turned clockwise by ``degrees`` (0, 90, 180 or 270)."""
    degrees %= 360
    return image if degrees == 0 else image.transpose(_CLOCKWISE[degrees])


def unturn_box(
    box: tuple[int, int, int, int], degrees: int, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A box on the image turned clockwise by ``degrees``, in the original's coordinates.

    ``size`` is the original image's (width, height).
    """
    x, y, w, h = box
    width, height = size
    degrees %= 360
    if degrees == 90:  # turned (x', y') = (height - 1 - y, x)  →  x = y', y = height - x' - w'
        return y, height - x - w, h, w
    if degrees == 180:
        return width - x - w, height - y - h, w, h
    if degrees == 270:  # turned (x', y') = (y, width - 1 - x)
        return width - y - h, x, h, w
    return box


def unturn_point(point: tuple[int, int], degrees: int, size: tuple[int, int]) -> tuple[int, int]:
    """A point on the image turned clockwise by ``degrees``, in the original's coordinates."""
    x, y = point
    width, height = size
    degrees %= 360
    if degrees == 90:
        return y, height - x
    if degrees == 180:
        return width - x, height - y
    if degrees == 270:
        return width - y, x
    return point
