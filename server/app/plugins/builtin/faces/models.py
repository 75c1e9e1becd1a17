"""Input and output schemas of the ``faces`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.plugins.base import ImageInput
from app.plugins.vocabulary import Detection, ImageResult, Keypoint

FaceDetector = Literal["mtcnn", "blazeface", "haar"]


class DetectInput(ImageInput):
    detector: FaceDetector = Field(
        "mtcnn",
        description="mtcnn (default: a learned cascade, best recall, five landmarks per face), "
        "blazeface (MediaPipe's learned detector: several times faster, six keypoints, "
        "misses small faces and fires more on animals) or haar (OpenCV's classic cascades, "
        "the previous default; see `model`).",
    )
    model: Literal["frontal", "frontal_alt2", "profile"] = Field(
        "frontal",
        description="Haar only: the cascade: frontal (best recall), frontal_alt2 (fewer false "
        "positives) or profile (faces turned sideways, one direction).",
    )
    min_size: int = Field(
        30,
        ge=8,
        le=4096,
        description="Smallest face to report, in pixels (box side). For mtcnn it also sets "
        "where the image pyramid starts: larger is faster.",
    )
    max_size: int | None = Field(
        None, ge=8, description="Largest face to report, in pixels; default: no limit."
    )
    scale_factor: float = Field(
        1.1,
        gt=1.0,
        le=2.0,
        description="Haar only: step between detection scales; lower finds more but is slower.",
    )
    min_neighbors: int = Field(
        5,
        ge=0,
        le=50,
        description="Haar only: overlapping hits needed to keep a face; higher is stricter.",
    )
    min_score: float = Field(
        0.0,
        description="Drop faces scoring below this (see `score`): a probability for mtcnn and "
        "blazeface (they already drop faces under 0.7 and 0.65), a cascade weight for haar "
        "(2-3 cuts most false hits).",
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
        description="The detector's own score. mtcnn, blazeface: the face probability (equal "
        "to `confidence`). haar: the weight of the cascade's last stage, higher is more "
        "face-like (true faces typically above 2); `confidence` maps it into [0, 1] (0.5 at 2)."
    )
    keypoints: list[Keypoint] = Field(
        default_factory=list,
        description="mtcnn: right_eye, left_eye, nose, mouth_right, mouth_left; blazeface: "
        "right_eye, left_eye, nose, mouth, right_ear, left_ear; haar: none. Left and right are "
        "the person's own (a left eye is on the image's right when the face looks at you).",
    )


class DetectOutput(ImageResult):
    faces: list[Face]
    count: int
    detector: str = Field(description="The detector that ran.")
    model: str = Field(description="Its model: the cascade for haar, else the network.")
