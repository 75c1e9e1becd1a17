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
    use_cls: bool = Field(
        False,
        description="Classify each line's orientation to read upside-down text. Off by "
        "default: the bundled classifier sometimes flips upright English lines.",
    )


class RapidOutput(TextResult):
    pass
