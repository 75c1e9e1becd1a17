"""Input and output schemas of the ``ocr-rapid`` tools."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput
from app.plugins.builtin.geometry import Box, Point


class RapidInput(ImageInput):
    min_score: float = Field(
        0.5, ge=0.0, le=1.0, description="Drop lines recognised with a lower confidence."
    )
    use_cls: bool = Field(
        False,
        description="Classify each line's orientation to read upside-down text. Off by "
        "default: the bundled classifier sometimes flips upright English lines.",
    )
    words: bool = Field(False, description="Also return a box per word.")


class RapidWord(BaseModel):
    text: str
    confidence: float = Field(description="In [0, 1].")
    box: Box


class RapidLine(BaseModel):
    text: str
    confidence: float = Field(description="Recognition confidence in [0, 1].")
    box: Box
    polygon: list[Point] = Field(description="The detected quadrilateral (text may be tilted).")
    words: list[RapidWord] | None = None


class RapidOutput(BaseModel):
    text: str = Field(description="Lines in reading order, newline-separated.")
    lines: list[RapidLine]
    width: int
    height: int
