"""Shapes the built-in plugins report: axis-aligned boxes and corner points, in pixels.

One definition keeps the output schemas of OCR, barcode and face tools alike, so a client
draws any of them with the same code. Coordinates are in the input image's pixel grid,
origin top-left.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field


class Box(BaseModel):
    """An axis-aligned rectangle: top-left corner plus size."""

    x: int = Field(description="Left edge in pixels.")
    y: int = Field(description="Top edge in pixels.")
    width: int = Field(ge=0)
    height: int = Field(ge=0)

    @classmethod
    def from_corners(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        left, top = round(min(x1, x2)), round(min(y1, y2))
        return cls(x=left, y=top, width=round(max(x1, x2)) - left, height=round(max(y1, y2)) - top)

    @classmethod
    def around(cls, points: Iterable[Point]) -> Box:
        pts = list(points)
        xs = [p.x for p in pts]
        ys = [p.y for p in pts]
        return cls.from_corners(min(xs), min(ys), max(xs), max(ys))


class Point(BaseModel):
    x: int
    y: int
