"""A model's manifest: what its input wants and how to read its output.

Written by the user as JSON or YAML beside the ONNX file; checked here field by field so a
mistake is named before anything is stored.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.inference.decoders import (
    ClassifyParams,
    DecoderParams,
    KeypointsParams,
    NanoDetParams,
    Postprocess,
    SegmentParams,
    SsdParams,
    YoloParams,
)
from app.inference.geometry import PAD_VALUE, Resize
from app.inference.tensor import ColorOrder, Layout
from app.yaml_errors import yaml_problem

#: Model names are plugin names: lower-case letters, digits, ``_`` and ``-``.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Task(StrEnum):
    DETECT = "detect"
    CLASSIFY = "classify"
    KEYPOINTS = "keypoints"
    SEGMENT = "segment"


#: The decoder families each task accepts.
_FAMILIES: dict[Task, tuple[type[BaseModel], ...]] = {
    Task.DETECT: (YoloParams, NanoDetParams, SsdParams),
    Task.CLASSIFY: (ClassifyParams,),
    Task.KEYPOINTS: (KeypointsParams,),
    Task.SEGMENT: (SegmentParams,),
}


class Normalization(BaseModel):
    """``(pixel * scale - mean) / std`` per channel, in the model's channel order."""

    model_config = ConfigDict(extra="forbid")

    scale: float = Field(default=1.0 / 255.0, description="Multiplies 0-255 pixels first.")
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @model_validator(mode="after")
    def _no_zero_std(self) -> Normalization:
        if any(value == 0 for value in self.std):
            raise ValueError("std values must not be 0")
        return self


class InputSpec(BaseModel):
    """The model's one image input."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(ge=8, le=4096)
    height: int = Field(ge=8, le=4096)
    layout: Layout = Layout.NCHW
    color: ColorOrder = ColorOrder.RGB
    resize: Resize = Resize.LETTERBOX
    pad_value: int = Field(default=PAD_VALUE, ge=0, le=255)
    normalization: Normalization = Field(default_factory=lambda: Normalization())


class Manifest(BaseModel):
    """Everything Visor needs to serve a model besides its ONNX file."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, description="Optional; the name given at registration wins."
    )
    task: Task
    description: str = Field(default="", max_length=2000)
    labels: list[str] = Field(min_length=1, max_length=100_000)
    input: InputSpec
    decoder: DecoderParams
    thresholds: Postprocess = Field(default_factory=lambda: Postprocess())

    @model_validator(mode="after")
    def _decoder_fits_task(self) -> Manifest:
        if not isinstance(self.decoder, _FAMILIES[self.task]):
            allowed = ", ".join(
                sorted(m.model_fields["family"].default for m in _FAMILIES[self.task])
            )
            raise ValueError(
                f"decoder family {self.decoder.family!r} does not fit task {self.task.value!r} "
                f"(use {allowed})"
            )
        return self

    @property
    def size(self) -> tuple[int, int]:
        return self.input.width, self.input.height


class ManifestError(ValueError):
    """A manifest that cannot be read or breaks the schema; the message says where."""


def parse_manifest(text: str | bytes) -> Manifest:
    """A manifest from JSON or YAML text, with every problem named by its field path."""
    try:
        raw: Any = json.loads(text)
    except ValueError:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where, _position = yaml_problem(exc)
            raise ManifestError(f"the manifest is neither JSON nor YAML: {where}") from None
    if not isinstance(raw, dict):
        raise ManifestError("the manifest must be a JSON or YAML object")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or '(manifest)'}: {error['msg']}"
            for error in exc.errors()[:10]
        ]
        raise ManifestError("the manifest is invalid: " + "; ".join(problems)) from None


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ManifestError(
            f"model name {name!r} must be 1-63 lower-case letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return name
