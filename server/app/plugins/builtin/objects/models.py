"""Input and output schemas of the ``objects`` tool."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from app.plugins.base import ImageInput
from app.plugins.builtin.detection.coco_labels import COCO_LABELS
from app.plugins.vocabulary import Detection, ImageResult

CocoLabel = Annotated[str, Field(json_schema_extra={"enum": list(COCO_LABELS)})]


class DetectInput(ImageInput):
    classes: list[CocoLabel] | None = Field(
        None,
        min_length=1,
        description="Report only these COCO classes (e.g. ['person', 'dog']); default: all "
        "but 'toilet', which this model gets wrong too often to report unasked.",
    )
    min_score: float = Field(
        0.4, ge=0.0, le=1.0, description="Drop objects whose class score is below this."
    )
    overlap: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Non-maximum suppression within a class: of two boxes overlapping more "
        "than this (intersection over union), only the higher-scoring one is kept.",
    )
    max_objects: int = Field(100, ge=1, le=1000, description="Most objects reported, best first.")

    @field_validator("classes")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(COCO_LABELS))
        if unknown:
            raise ValueError(f"not COCO classes: {unknown}")
        return value


class DetectedObject(Detection):
    label: str = Field(description="The COCO class, e.g. person, car, dog, cup.")


class DetectOutput(ImageResult):
    objects: list[DetectedObject]
    count: int
    model: str
