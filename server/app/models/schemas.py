"""Tool input and output models of a model's plugin, generated from its manifest.

The shapes follow the result vocabulary (``app.plugins.vocabulary``): ``box`` as
``[x, y, width, height]`` in pixels of the displayed image, ``label``, ``confidence``.
Defaults and descriptions come from the manifest of the model's default version; labels
are plain strings so versions of a model may change them without a reload.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from app.models.manifest import Manifest, Task
from app.plugins.base import ImageInput
from app.plugins.vocabulary import Box, Confidence, ImageResult, Point

#: Labels listed in a tool's description at most (the rest are summarised).
_LABELS_SHOWN = 40


class ModelRef(BaseModel):
    name: str
    version: int = Field(description="The model version that answered.")


class Detected(BaseModel):
    box: Box
    label: str
    class_id: int = Field(ge=0)
    confidence: Confidence


class Keypoint(BaseModel):
    name: str
    point: Point = Field(description="[x, y] in pixels of the displayed image.")
    confidence: float = Field(description="The model's score for this point (0-1 for most).")


class Posed(Detected):
    keypoints: list[Keypoint]


class Classified(BaseModel):
    label: str
    class_id: int = Field(ge=0)
    confidence: Confidence


class DetectOutput(ImageResult):
    detections: list[Detected]
    count: int
    model: ModelRef


class KeypointsOutput(ImageResult):
    detections: list[Posed]
    count: int
    model: ModelRef


class ClassifyOutput(ImageResult):
    classes: list[Classified]
    top: str | None = Field(description="The most likely label, or null below the threshold.")
    model: ModelRef


OUTPUTS: dict[Task, type[BaseModel]] = {
    Task.DETECT: DetectOutput,
    Task.KEYPOINTS: KeypointsOutput,
    Task.CLASSIFY: ClassifyOutput,
}


def labels_text(labels: list[str]) -> str:
    shown = ", ".join(labels[:_LABELS_SHOWN])
    more = len(labels) - _LABELS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def input_model(name: str, manifest: Manifest) -> type[ImageInput]:
    """The tool's input: an image plus the manifest's thresholds as overridable options."""
    post = manifest.thresholds
    fields: dict[str, Any] = {
        "score_threshold": (
            float,
            Field(default=post.score_threshold, ge=0.0, le=1.0, description="Drop weaker results."),
        ),
        "max_detections": (
            int,
            Field(
                default=post.max_detections, ge=1, le=10_000, description="Most results returned."
            ),
        ),
        "classes": (
            list[str] | None,
            Field(default=None, description="Only these labels (default: all the model knows)."),
        ),
        "version": (
            int | None,
            Field(
                default=None,
                ge=1,
                description=f"Pin a version of {name} (NAME@VERSION); default: the current one.",
            ),
        ),
    }
    if manifest.task is not Task.CLASSIFY:
        fields["iou"] = (
            float,
            Field(
                default=post.iou,
                ge=0.0,
                le=1.0,
                description="Boxes overlapping more than this merge.",
            ),
        )
    model: type[ImageInput] = create_model(f"{_camel(name)}Input", __base__=ImageInput, **fields)
    return model


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Model"
