"""Finding drawable shapes in a tool result (and in an output schema) by the shared vocabulary.

A *box* is ``"box": [x, y, w, h]`` and a *polygon* is ``"polygon": [[x, y], ...]`` (three
points or more), both in the input image's pixels, origin top-left. Each shape is labelled
with the text its object carries (``text``, ``label``, ``format`` or ``name``), if any.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

BOX = "box"
POLYGON = "polygon"
_LABEL_KEYS = ("text", "label", "format", "name")
_MAX_LABEL = 40
_MAX_DEPTH = 32  # results are validated JSON, but a deep one must not recurse forever

Point = tuple[float, float]


@dataclass(frozen=True)
class Shape:
    """One finding to draw: a closed outline (a box is its four corners) and a label."""

    points: tuple[Point, ...]
    label: str | None = None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_box(value: Any) -> tuple[Point, ...] | None:
    if not (isinstance(value, Sequence) and len(value) == 4 and all(map(_number, value))):
        return None
    x, y, w, h = (float(v) for v in value)
    if w < 0 or h < 0:
        return None
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def _as_polygon(value: Any) -> tuple[Point, ...] | None:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) < 3:
        return None
    points: list[Point] = []
    for point in value:
        if not (isinstance(point, Sequence) and len(point) == 2 and all(map(_number, point))):
            return None
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def _label(node: dict[str, Any]) -> str | None:
    for key in _LABEL_KEYS:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"
    return None


def find_shapes(result: Any) -> list[Shape]:
    """Every box and polygon in ``result``; an object with both is drawn by its polygon."""
    return list(_walk(result, 0))


def _walk(node: Any, depth: int) -> Iterator[Shape]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, dict):
        outline = _as_polygon(node.get(POLYGON)) or _as_box(node.get(BOX))
        if outline is not None:
            yield Shape(outline, _label(node))
        for key, value in node.items():
            if key not in (BOX, POLYGON) and isinstance(value, dict | list):
                yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                yield from _walk(item, depth + 1)


def schema_has_shapes(schema: Any, depth: int = 0) -> bool:
    """True if an output schema declares a ``box`` or ``polygon`` property anywhere.

    Such a tool "finds things" and can be asked for a rendered image.
    """
    if depth > _MAX_DEPTH:
        return False
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict) and (BOX in properties or POLYGON in properties):
            return True
        return any(schema_has_shapes(value, depth + 1) for value in schema.values())
    if isinstance(schema, list):
        return any(schema_has_shapes(value, depth + 1) for value in schema)
    return False
