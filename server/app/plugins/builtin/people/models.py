"""Input and output schemas of the ``people`` tool."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.plugins.base import ImageInput
from app.plugins.vocabulary import Detection, ImageResult


class DetectInput(ImageInput):
    model: Literal["default", "daimler"] = Field(
        "default",
        description="HOG + linear SVM bundled with OpenCV: default (Dalal-Triggs 64x128 "
        "window, people from ~100 px tall) or daimler (48x96 window: smaller people, more "
        "false hits).",
    )
    min_score: float = Field(
        1.0,
        ge=-5.0,
        le=10.0,
        description="Drop detections whose SVM margin (`score`) is below this: 1 (default) "
        "cuts almost all false hits on real photos; 0 keeps everything the SVM accepts.",
    )
    overlap: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="Non-maximum suppression: of two boxes overlapping more than this "
        "(intersection over union), only the higher-scoring one is kept.",
    )
    max_side: int = Field(
        800,
        ge=128,
        le=4096,
        description="Larger images are detected on a copy downscaled to this longest side; "
        "boxes are reported in the original image's pixels.",
    )
    upscale: float = Field(
        1.5,
        ge=1.0,
        le=3.0,
        description="Enlarge the (downscaled) image by this factor first, to find people "
        "smaller than the model's window (default 1.5: people from ~65 px tall); 1 is about "
        "twice as fast and needs people ~100 px tall.",
    )
    scale_factor: float = Field(
        1.05, gt=1.0, le=1.5, description="Step between pyramid scales: lower finds more."
    )
    stride: Literal[4, 8, 16] = Field(
        8, description="Window step in pixels: 4 finds more and is ~4x slower than 8."
    )


class Person(Detection):
    score: float = Field(
        description="The SVM's margin: higher is more person-like (comparable within one "
        "model). `confidence` is this margin mapped into [0, 1] (0.5 at a margin of 1)."
    )


class DetectOutput(ImageResult):
    people: list[Person]
    count: int
    model: str
