"""Input and output schemas of the ``ocr`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput
from app.plugins.builtin.geometry import Box

#: Tesseract page segmentation modes that make sense for a caller (0 and 2 do no OCR).
PageSegMode = Literal[1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]

PSM_HELP = (
    "Tesseract page segmentation mode: 3 = fully automatic (default), 1 = automatic with "
    "orientation detection, 4 = one column, 6 = one uniform block, 7 = one line, "
    "8 = one word, 10 = one character, 11 = sparse text, 12 = sparse text with orientation "
    "detection, 13 = raw line."
)


class OcrInput(ImageInput):
    lang: str = Field(
        "eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="Language model(s), joined with '+' (e.g. 'eng+deu'); "
        "the `languages` tool lists what is installed.",
    )
    psm: PageSegMode = Field(3, description=PSM_HELP)


class WordsInput(OcrInput):
    min_confidence: float = Field(
        0.0, ge=0.0, le=100.0, description="Drop words whose confidence is below this."
    )


class TextOutput(BaseModel):
    text: str = Field(description="Recognised text, lines separated by newlines.")
    confidence: float = Field(description="Mean word confidence in [0, 100].")
    lang: str
    width: int
    height: int


class Word(BaseModel):
    text: str
    confidence: float = Field(description="Tesseract's word confidence in [0, 100].")
    box: Box
    line: int = Field(description="Index into `lines` of the line holding this word.")


class Line(BaseModel):
    text: str
    confidence: float
    box: Box


class WordsOutput(BaseModel):
    words: list[Word]
    lines: list[Line]
    text: str
    lang: str
    width: int
    height: int


class LanguagesOutput(BaseModel):
    languages: list[str] = Field(description="Language codes with an installed model.")
    tessdata_dir: str | None
    tesseract_version: str
