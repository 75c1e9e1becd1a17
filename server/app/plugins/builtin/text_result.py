"""What both OCR engines return: the same names for text, lines and words, and one limit.

``ocr`` (Tesseract) and ``ocr-rapid`` (PP-OCR) answer with these models, so a caller can
switch engines without changing its own code. Shapes and units follow
:mod:`app.plugins.vocabulary`. A dense page has thousands of words: ``level`` picks the
granularity a caller needs and ``max_items`` caps the list, with ``truncated`` saying so.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from app.plugins.vocabulary import Confidence, ImageResult, TextRegion


class Level(StrEnum):
    """Granularity of the regions a text tool returns, coarsest first."""

    BLOCKS = "blocks"
    PARAGRAPHS = "paragraphs"
    LINES = "lines"
    WORDS = "words"


class TextWord(TextRegion):
    """One word; ``line`` says which entry of ``lines`` holds it."""

    line: int = Field(ge=0, description="Index into `lines` of the line holding this word.")


class LimitInput(BaseModel):
    """The output-size options every text tool with regions takes."""

    max_items: int = Field(
        5000,
        ge=1,
        le=100_000,
        description="Return at most this many regions of the chosen level (reading order); "
        "`truncated` is true when some were left out. `text` always holds everything.",
    )


class TextResult(ImageResult):
    text: str = Field(description="All text in reading order; lines separated by newlines.")
    confidence: Confidence = Field(description="Mean word confidence.")
    level: Level = Field(description="Granularity of the regions returned.")
    blocks: list[TextRegion] = Field(
        default_factory=list, description="Text blocks (columns, captions); level=blocks."
    )
    paragraphs: list[TextRegion] = Field(
        default_factory=list, description="Paragraphs; level=paragraphs."
    )
    lines: list[TextRegion] = Field(
        default_factory=list, description="Lines in reading order; level=lines or words."
    )
    words: list[TextWord] = Field(
        default_factory=list, description="Words in reading order; level=words."
    )
    truncated: bool = Field(default=False, description="True when `max_items` left regions out.")
    total_items: int = Field(ge=0, description="Regions found at this level before the limit.")
    orientation: int = Field(
        default=0,
        description="Clockwise rotation (0, 90, 180, 270) the page was read at; "
        "coordinates are in the input image's own orientation regardless.",
    )
