"""Input and output schemas of the ``faces`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.plugins.base import ImageInput
from app.plugins.vocabulary import Detection, ImageResult


class DetectInput(ImageInput):
    model: Literal["frontal", "frontal_alt2", "profile"] = Field(
        "frontal",
        description="Cascade: frontal (default, best recall), frontal_alt2 (fewer false "
        "positives) or profile (faces turned sideways, one direction).",
    )
    min_size: int = Field(
        30, ge=8, le=4096, description="Smallest face to report, in pixels (box side)."
    )
    max_size: int | None = Field(
        None, ge=8, description="Largest face to report, in pixels; default: no limit."
    )
    scale_factor: float = Field(
        1.1,
        gt=1.0,
        le=2.0,
        description="Step between detection scales: lower finds more faces but is slower.",
    )
    min_neighbors: int = Field(
        5, ge=0, le=50, description="Overlapping hits needed to keep a face: higher is stricter."
    )
    min_score: float = Field(
        0.0, description="Drop faces scoring below this (see `score`); 2-3 cuts most false hits."
    )
    max_side: int = Field(
        1280,
        ge=64,
        le=8192,
        description="Larger images are downscaled to this longest side for speed; boxes are "
        "reported in the original image's pixels.",
    )


class Face(Detection):
    score: float = Field(
        description="Weight of the cascade's last stage: higher is more face-like "
        "(true faces typically score above 2; comparable within one model only). "
        "`confidence` is this score mapped into [0, 1] (0.5 at a score of 2)."
    )


class DetectOutput(ImageResult):
    faces: list[Face]
    count: int
    model: str
