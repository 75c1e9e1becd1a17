"""Pipeline specs the tests of several doors save and run (REST, MCP, streams, browser).

``FACE_COLOURS`` finds faces and describes each face's colours (a ``for_each`` step, so
results and schemas nest a tool's output); ``FAILING`` fails in its second step on any
image wider than 16 px, since a width is no valid colour count.
"""

from __future__ import annotations

from typing import Any

FACE_COLOURS: dict[str, Any] = {
    "name": "face-colours",
    "description": "Faces, then each face's colours.",
    "steps": [
        {"id": "faces", "tool": "faces.detect"},
        {"id": "colours", "tool": "image_info.describe", "for_each": "faces.faces",
         "padding": 4, "args": {"dominant_colors": 2}},
    ],
}  # fmt: skip


def failing(name: str = "failing") -> dict[str, Any]:
    """The failing spec under ``name``."""
    return {
        "name": name,
        "steps": [
            {"id": "size", "tool": "image_info.describe"},
            {"id": "colours", "tool": "image_info.describe",
             "args_from": {"dominant_colors": "size.width"}},
        ],
    }  # fmt: skip


FAILING = failing()
