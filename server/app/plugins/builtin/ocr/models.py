"""Input and output schemas of the ``ocr`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput
from app.plugins.builtin.ocr.variables import TesseractVariables
from app.plugins.builtin.text_result import Level, LimitInput, TextResult
from app.plugins.vocabulary import Confidence, ImageResult

#: Tesseract page segmentation modes that make sense for a caller (0 and 2 do no OCR).
PageSegMode = Literal[1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]

PSM_HELP = (
    "Tesseract page segmentation mode: 3 = fully automatic (default), 1 = automatic with "
    "Tesseract's own orientation detection, 4 = one column, 6 = one uniform block, "
    "7 = one line, 8 = one word, 10 = one character, 11 = sparse text, 12 = sparse text "
    "with orientation detection, 13 = raw line."
)


class OcrInput(ImageInput):
    lang: str = Field(
        "eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="Language model(s), joined with '+' (e.g. 'eng+deu'); "
        "the `languages` tool lists what is installed.",
    )
    psm: PageSegMode = Field(3, description=PSM_HELP)
    rotate: Literal["auto", 0, 90, 180, 270] = Field(
        "auto",
        description="'auto' detects pages turned by 90, 180 or 270 degrees and reads them "
        "upright; a number turns the image clockwise by that much first; 0 reads it as is.",
    )
    background: Literal["auto", "normalize", "keep"] = Field(
        "auto",
        description="'auto' evens out uneven lighting (shadows, vignetting, photographed "
        "pages) when the page needs it; 'normalize' always does; 'keep' never does.",
    )
    dpi: int | None = Field(
        None,
        ge=70,
        le=2400,
        description="Resolution of the scan; default: Tesseract estimates it from the text.",
    )
    variables: TesseractVariables | None = Field(
        None,
        description="Tesseract variables (an allowlisted set), e.g. "
        '{"tessedit_char_whitelist": "0123456789"}.',
    )


class WordsInput(OcrInput, LimitInput):
    level: Level = Field(
        Level.WORDS,
        description="Regions to return: blocks, paragraphs, lines, or words (words come "
        "with their lines).",
    )
    min_confidence: float = Field(
        0.0, ge=0.0, le=1.0, description="Drop regions whose confidence is below this."
    )


class ExportInput(OcrInput):
    format: Literal["hocr", "tsv"] = Field(
        "hocr", description="hOCR (HTML with bbox titles) or Tesseract's TSV table."
    )


class TextOutput(ImageResult):
    text: str = Field(description="Recognised text, lines separated by newlines.")
    confidence: Confidence = Field(description="Mean word confidence.")
    lang: str
    orientation: int = Field(
        0, description="Degrees the image was turned clockwise to read it upright."
    )


class WordsOutput(TextResult):
    lang: str


class ExportOutput(ImageResult):
    format: Literal["hocr", "tsv"]
    content: str = Field(
        description="Tesseract's own rendering. Its coordinates are those of the image "
        "Tesseract read: turned by `orientation` degrees clockwise."
    )
    orientation: int


class LanguagesOutput(BaseModel):
    languages: list[str] = Field(description="Language codes with an installed model.")
    tesseract_version: str
