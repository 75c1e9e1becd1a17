"""Input and output schemas. Visor turns these pydantic models into the tools' JSON Schemas,
validates every payload against them before the tool runs and every result after."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput


class ThumbnailInput(ImageInput):  # ImageInput adds `image` (base64) and `mime_type`
    max_side: int = Field(128, ge=8, le=1024, description="Longest side of the thumbnail.")
    format: Literal["png", "jpeg", "webp"] = Field("png", description="Thumbnail encoding.")


class ThumbnailOutput(BaseModel):
    image: str = Field(description="The thumbnail, base64-encoded.")
    mime_type: str
    width: int
    height: int
    original_width: int
    original_height: int


class HistogramInput(ImageInput):
    bins: int = Field(16, ge=2, le=256, description="Number of equal-width luminance bins.")


class HistogramOutput(BaseModel):
    counts: list[int] = Field(description="Pixels per bin, darkest bin first.")
    edges: list[float] = Field(description="bins + 1 bin edges in [0, 256].")
    mean: float = Field(description="Mean luminance in [0, 255].")
    pixels: int
