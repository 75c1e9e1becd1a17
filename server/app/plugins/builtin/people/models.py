"""Input and output schemas of the ``people`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.plugins.base import ImageInput
from app.plugins.vocabulary import Detection, ImageResult, Keypoint


class DetectInput(ImageInput):
    detector: Literal["nanodet", "hog"] = Field(
        "nanodet",
        description="nanodet (default: the `objects` plugin's learned COCO detector, its "
        "person class: standing, sitting, cropped and partly hidden people) or hog (OpenCV's "
        "classic pedestrian detector, the previous default: upright, whole people only; "
        "see `model`, `upscale`, `scale_factor`, `stride`).",
    )
    model: Literal["default", "daimler"] = Field(
        "default",
        description="HOG only: the linear SVM bundled with OpenCV: default (Dalal-Triggs "
        "64x128 window, people from ~100 px tall) or daimler (48x96 window: smaller people, "
        "more false hits).",
    )
    min_score: float | None = Field(
        None,
        ge=-5.0,
        le=10.0,
        description="Drop people whose `score` is below this. Default: 0.4 for nanodet (a "
        "probability), 1 for hog (the SVM's margin: 1 cuts almost all false hits on real "
        "photos; 0 keeps everything the SVM accepts).",
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
        description="HOG only: enlarge the (downscaled) image by this factor first, to find "
        "people smaller than the model's window (default 1.5: people from ~65 px tall); 1 is "
        "about twice as fast and needs people ~100 px tall.",
    )
    scale_factor: float = Field(
        1.05, gt=1.0, le=1.5, description="HOG only: step between pyramid scales; lower finds more."
    )
    stride: Literal[4, 8, 16] = Field(
        8, description="HOG only: window step in pixels; 4 finds more and is ~4x slower than 8."
    )


class PoseInput(ImageInput):
    min_score: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="Drop people whose MoveNet score is below this (0.15: no false hits on "
        "an outside evaluation set; raise it to keep only clearly seen people).",
    )
    overlap: float = Field(
        0.45, ge=0.0, le=1.0, description="Non-maximum suppression between people's boxes."
    )


class Person(Detection):
    score: float = Field(
        description="The detector's own score. nanodet and pose: the probability (equal to "
        "`confidence`). hog: the SVM's margin, higher is more person-like; `confidence` maps "
        "it into [0, 1] (0.5 at a margin of 1)."
    )
    keypoints: list[Keypoint] = Field(
        default_factory=list,
        description="pose: the 17 COCO keypoints (nose, eyes, ears, shoulders, elbows, wrists, "
        "hips, knees, ankles; left/right are the person's own), each with its confidence; "
        "points the model could not see have a low confidence. detect: none.",
    )


class DetectOutput(ImageResult):
    people: list[Person]
    count: int
    detector: str = Field(description="The detector that ran.")
    model: str = Field(description="Its model: the SVM for hog, else the network.")
