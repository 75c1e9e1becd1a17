"""The result vocabulary: the shapes every built-in tool reports, for plugin authors to reuse.

One set of names and units means a client (the dashboard, an agent's renderer, a pipeline
step cropping regions) handles the output of any tool with the same code:

* ``box`` — ``[x, y, width, height]``, integers, the axis-aligned rectangle around a thing;
* ``polygon`` — ``[[x, y], ...]``, the thing's outline when it is not an upright rectangle
  (a tilted text line, a barcode's four corners, starting at the thing's own top-left
  corner and going clockwise);
* ``confidence`` — a float in ``[0, 1]``, higher is surer (comparable within one tool);
* ``text`` — what was read; ``label`` — what was recognised, when it is a class name;
* ``keypoints`` — named points on a found thing (a face's eyes, a person's joints), each
  ``{"name", "point": [x, y], "confidence"}``;
* ``width`` / ``height`` on the result — the size of the image the coordinates refer to.

Every coordinate is a pixel of the **input image as displayed**: after its EXIF
orientation is applied, at full resolution (tools that work on a downscaled or rotated copy
map their results back), origin top-left, x right, y down.

A generic client finds the regions of any result by walking it: every JSON object with a
``box`` is a region (see :func:`regions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field

__all__ = [
    "Box",
    "Confidence",
    "Detection",
    "ImageResult",
    "Keypoint",
    "Point",
    "Polygon",
    "Region",
    "TextRegion",
    "box_around",
    "box_from_corners",
    "iou",
    "regions",
]

#: ``[x, y, width, height]`` in pixels; x, y is the top-left corner.
Box = Annotated[
    tuple[int, int, int, int],
    Field(description="[x, y, width, height] in pixels of the displayed image, origin top-left."),
]

#: ``[x, y]`` in pixels.
Point = tuple[int, int]

#: ``[[x, y], ...]``: an outline, clockwise from the region's own top-left corner.
Polygon = Annotated[
    list[Point],
    Field(
        min_length=3,
        description="Outline as [[x, y], ...] in pixels, clockwise from the region's own "
        "top-left corner (for a rotated thing, that corner may not be the upper-left one).",
    ),
]

#: A float in [0, 1]; higher is surer.
Confidence = Annotated[
    float, Field(ge=0.0, le=1.0, description="In [0, 1]; higher is surer (per tool).")
]


class Region(BaseModel):
    """Something found in an image: at least a box."""

    box: Box


class Detection(Region):
    """A found object with a confidence (faces, people)."""

    confidence: Confidence


class Keypoint(BaseModel):
    """A named point on a found thing: a face's eye, a person's left wrist."""

    name: str = Field(description="What the point is, e.g. left_eye, right_wrist.")
    point: Point = Field(description="[x, y] in pixels of the displayed image.")
    confidence: Confidence


class TextRegion(Region):
    """Text read from an image at some granularity (block, paragraph, line, word)."""

    text: str
    confidence: Confidence
    polygon: Polygon | None = Field(
        default=None, description="Outline when the engine reports one (tilted text); else null."
    )


class ImageResult(BaseModel):
    """Base of a tool result: the size of the image its coordinates refer to."""

    width: int = Field(ge=0, description="Width of the displayed (EXIF-oriented) image.")
    height: int = Field(ge=0, description="Height of the displayed (EXIF-oriented) image.")


def box_from_corners(x1: float, y1: float, x2: float, y2: float) -> tuple[int, int, int, int]:
    """The box spanning two opposite corners, rounded to whole pixels."""
    left, top = round(min(x1, x2)), round(min(y1, y2))
    return left, top, round(max(x1, x2)) - left, round(max(y1, y2)) - top


def box_around(points: Iterable[Sequence[float]]) -> tuple[int, int, int, int]:
    """The smallest box holding every ``(x, y)`` point."""
    pts = list(points)
    if not pts:
        raise ValueError("box_around needs at least one point")
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return box_from_corners(min(xs), min(ys), max(xs), max(ys))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x, y, width, height]`` boxes, in [0, 1]."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def regions(result: Any) -> Iterator[dict[str, Any]]:
    """Every region (a dict with a four-number ``box``) anywhere in a JSON result."""
    if isinstance(result, dict):
        box = result.get("box")
        if isinstance(box, list | tuple) and len(box) == 4:
            yield result
        for value in result.values():
            yield from regions(value)
    elif isinstance(result, list):
        for item in result:
            yield from regions(item)
