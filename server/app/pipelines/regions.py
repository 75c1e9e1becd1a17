"""Regions between steps: find them in a result, crop the image to them, map results back.

Regions follow the result vocabulary (:mod:`app.plugins.vocabulary`): any object with a
``box`` ``[x, y, w, h]``. A step run on a crop reports coordinates in the crop; they are
shifted back so every box and polygon in a pipeline result is in the input image's pixels,
and the result's ``width``/``height`` — in the vocabulary, the size of the image its
coordinates refer to — become the input image's too (the crop itself is reported beside
the result), so a client draws any result on the original with the same code.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from app.plugins.vocabulary import regions


def find_regions(value: Any) -> list[dict[str, Any]]:
    """The regions in ``value``: the items of a list of regions, or every region within."""
    return list(regions(value))


def crop(
    image: Image.Image, box: Any, padding: int
) -> tuple[bytes, tuple[int, int, int, int]] | None:
    """The PNG of ``box`` grown by ``padding`` and clipped to the image, and that crop's
    ``[x, y, w, h]`` in the image; None for a box with no pixels inside the image."""
    x, y, w, h = (int(v) for v in box)
    left, top = max(0, x - padding), max(0, y - padding)
    right, bottom = min(image.width, x + w + padding), min(image.height, y + h + padding)
    if right <= left or bottom <= top:
        return None
    buf = io.BytesIO()
    image.crop((left, top, right, bottom)).save(buf, "PNG")
    return buf.getvalue(), (left, top, right - left, bottom - top)


def rebase(result: Any, origin: tuple[int, int], size: tuple[int, int]) -> Any:
    """A result a tool gave for a crop at ``origin``, in the pixels of the ``size`` image:
    boxes and polygons shifted, and its own ``width``/``height`` (when it reports them)
    set to the image's."""
    moved = shift(result, *origin)
    if isinstance(moved, dict) and _is_size(moved.get("width"), moved.get("height")):
        moved["width"], moved["height"] = size
    return moved


def _is_size(width: Any, height: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height))


def shift(value: Any, dx: int, dy: int) -> Any:
    """``value`` with every ``box`` and ``polygon`` moved by ``(dx, dy)``."""
    if isinstance(value, list):
        return [shift(item, dx, dy) for item in value]
    if not isinstance(value, dict):
        return value
    moved: dict[str, Any] = {}
    for key, item in value.items():
        if key == "box" and _is_box(item):
            moved[key] = [item[0] + dx, item[1] + dy, item[2], item[3]]
        elif key == "polygon" and _is_polygon(item):
            moved[key] = [[p[0] + dx, p[1] + dy] for p in item]
        else:
            moved[key] = shift(item, dx, dy)
    return moved


def _is_box(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 4
        and all(isinstance(v, int | float) for v in value)
    )


def _is_polygon(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(v, int | float) for v in p)
        for p in value
    )
