"""Input and output schemas of the ``ocr-rapid`` tools (results: ``text_result``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.plugins.base import ImageInput
from app.plugins.builtin.text_result import LimitInput, TextResult


class RapidInput(ImageInput, LimitInput):
    level: Literal["lines", "words"] = Field(
        "lines", description="Regions to return: lines, or words (with their lines)."
    )
    min_confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="Drop lines recognised with a lower confidence."
    )
    rotate: Literal["auto", 0, 90, 180, 270] = Field(
        "auto",
        description="'auto' reads pages turned by 90, 180 or 270 degrees upright (only "
        "pages read with a low confidence are tried turned); a number turns the image "
        "clockwise by that much first; 0 reads it as is.",
    )
    order: Literal["columns", "engine"] = Field(
        "columns",
        description="Reading order: 'columns' reads multi-column pages column by column "
        "(titles spanning columns in place); 'engine' keeps rapidocr's top-to-bottom order.",
    )
    detection_size: int | None = Field(
        None,
        ge=320,
        le=4096,
        description="Longest side (pixels) the text detector works at; default: half the "
        "image's longest side, at least 960 and at most 2000. Raise it for small text on "
        "large pages; lower it for speed.",
    )
    use_cls: bool = Field(
        False,
        description="Classify each line's orientation to read upside-down text. Off by "
        "default: the bundled classifier sometimes flips upright English lines.",
    )


class RapidOutput(TextResult):
    pass
