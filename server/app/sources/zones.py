"""Zones and lines: what is inside a polygon, for how long, and what crosses a line.

Both work on tracked detections (a ``track_id`` each) and on one point per detection, its
anchor: the centre of the box, or the middle of its bottom edge (where a person or a car
touches the ground, the usual choice for a camera looking down at a floor or a road).

- A **zone** counts the tracks whose anchor is inside its polygon in each frame, and the
  time each track spends inside (sum of its visits, in the source's seconds).
- A **line** counts crossings per class and direction: a track crosses when the segment
  from its previous anchor to its current one intersects the line segment. ``in`` is a
  crossing from the left of the line to its right, walking from ``start`` to ``end`` in
  image coordinates (y down): for a line drawn left to right, ``in`` is downwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Point = tuple[float, float]


class Anchor(StrEnum):
    CENTER = "center"
    BOTTOM_CENTER = "bottom_center"


def anchor_of(box: tuple[float, float, float, float], anchor: Anchor) -> Point:
    x, y, w, h = box
    if anchor is Anchor.BOTTOM_CENTER:
        return (x + w / 2.0, y + h)
    return (x + w / 2.0, y + h / 2.0)


class ZoneSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    polygon: list[tuple[float, float]] = Field(
        min_length=3, max_length=64, description="[[x, y], ...] in pixels of the frame."
    )


class LineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    start: tuple[float, float]
    end: tuple[float, float]


def inside(point: Point, polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule (ray casting to the right)."""
    x, y = point
    hit = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                hit = not hit
    return hit


def _side(a: Point, b: Point, p: Point) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def crossing(line: LineSpec, before: Point, after: Point) -> str | None:
    """``"in"``, ``"out"`` or ``None``: whether the move ``before → after`` crosses.
    Both points must be off the line (a point on it is skipped by the caller)."""
    a, b = line.start, line.end
    s1, s2 = _side(a, b, before), _side(a, b, after)
    if s1 == 0 or s2 == 0 or (s1 > 0) == (s2 > 0):
        return None
    t1, t2 = _side(before, after, a), _side(before, after, b)
    if t1 * t2 > 0:
        return None  # the move passes beside the segment, not through it
    return "in" if s1 < 0 else "out"


@dataclass
class Visit:
    entered_s: float
    total_s: float = 0.0
    inside: bool = True


class ZoneCounter:
    """One zone's state over a source's life."""

    def __init__(self, spec: ZoneSpec) -> None:
        self.spec = spec
        self._visits: dict[int, Visit] = {}
        self.max_inside = 0
        self.entries = 0

    def update(
        self, t_s: float, anchors: dict[int, tuple[Point, str | None]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """This frame's count and the zone's events (entered, left) for tracks ``anchors``."""
        events: list[dict[str, Any]] = []
        now_inside = {tid for tid, (p, _) in anchors.items() if inside(p, self.spec.polygon)}
        for tid, visit in self._visits.items():
            if visit.inside:
                visit.total_s += max(0.0, t_s - visit.entered_s)
                visit.entered_s = t_s
                if tid not in now_inside:
                    visit.inside = False
                    events.append(
                        {"type": "zone_left", "zone": self.spec.name, "track_id": tid,
                         "label": anchors.get(tid, (None, None))[1],
                         "time_in_zone_s": round(visit.total_s, 6)}
                    )  # fmt: skip
        for tid in sorted(now_inside):
            known = self._visits.get(tid)
            if known is None or not known.inside:
                if known is None:
                    self._visits[tid] = Visit(entered_s=t_s)
                else:
                    known.inside, known.entered_s = True, t_s
                self.entries += 1
                events.append(
                    {"type": "zone_entered", "zone": self.spec.name, "track_id": tid,
                     "label": anchors[tid][1]}
                )  # fmt: skip
        self.max_inside = max(self.max_inside, len(now_inside))
        return {"inside": len(now_inside), "track_ids": sorted(now_inside)}, events

    def summary(self) -> dict[str, Any]:
        return {
            "inside": sum(1 for v in self._visits.values() if v.inside),
            "max_inside": self.max_inside,
            "entries": self.entries,
            "time_in_zone_s": {str(t): round(v.total_s, 6) for t, v in self._visits.items()},
        }


class LineCounter:
    """One line's crossing counts over a source's life, per direction and class."""

    def __init__(self, spec: LineSpec) -> None:
        self.spec = spec
        self._last: dict[int, Point] = {}
        self.counts: dict[str, Counter[str]] = {"in": Counter(), "out": Counter()}

    def update(self, anchors: dict[int, tuple[Point, str | None]]) -> list[dict[str, Any]]:
        events = []
        for tid, (point, label) in sorted(anchors.items()):
            if _side(self.spec.start, self.spec.end, point) == 0:
                continue  # on the line: the next point off it decides
            before = self._last.get(tid)
            self._last[tid] = point
            if before is None:
                continue
            direction = crossing(self.spec, before, point)
            if direction is None:
                continue
            self.counts[direction][label or "object"] += 1
            events.append(
                {"type": "line_crossed", "line": self.spec.name, "direction": direction,
                 "track_id": tid, "label": label}
            )  # fmt: skip
        return events

    def forget(self, live: set[int]) -> None:
        """Drop the positions of tracks that ended (bounded memory on a long source)."""
        for tid in set(self._last) - live:
            del self._last[tid]

    def summary(self) -> dict[str, Any]:
        return {d: dict(sorted(c.items())) for d, c in self.counts.items()} | {
            "total_in": sum(self.counts["in"].values()),
            "total_out": sum(self.counts["out"].values()),
        }
