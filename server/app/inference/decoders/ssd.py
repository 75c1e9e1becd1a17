"""SSD outputs with TensorFlow's Faster R-CNN box coder.

Two outputs: box encodings ``[1, N, 4]`` (ty, tx, th, tw) and class scores ``[1, N, K]``,
told apart by width. With anchors ``(ycenter, xcenter, height, width)`` as fractions of
the input and scales ``(y, x, h, w)`` (10, 10, 5, 5 by default)::

    ycenter = ty / y_scale * anchor_h + anchor_ycenter
    xcenter = tx / x_scale * anchor_w + anchor_xcenter
    height  = exp(th / h_scale) * anchor_h
    width   = exp(tw / w_scale) * anchor_w

With ``background_class`` the first score column is "nothing" and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.inference.decoders.base import Detection, Postprocess, select, sigmoid, softmax
from app.inference.errors import ModelMismatch


class SsdParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["ssd"] = "ssd"
    anchors: list[tuple[float, float, float, float]] = Field(
        min_length=1, description="(ycenter, xcenter, height, width) per anchor, fractions."
    )
    scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    class_activation: Literal["sigmoid", "softmax", "none"] = "sigmoid"
    background_class: bool = Field(default=True, description="Score column 0 is the background.")


def _split(
    outputs: Sequence[np.ndarray], anchors: int, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    shapes = [list(np.asarray(o).shape) for o in outputs]
    tables = [np.asarray(o).reshape(-1, np.asarray(o).shape[-1]) for o in outputs]
    if len(tables) != 2 or any(t.shape[0] != anchors for t in tables):
        raise ModelMismatch(
            f"SSD outputs {shapes} are not box encodings [1, {anchors}, 4] and class scores "
            f"[1, {anchors}, K] for the manifest's {anchors} anchors",
            details={"shapes": shapes, "anchors": anchors},
        )
    first, second = tables
    if first.shape[1] == 4 and second.shape[1] != 4:
        boxes, scores = first, second
    else:
        boxes, scores = second, first
    if boxes.shape[1] != 4 or (classes and scores.shape[1] not in (classes, classes + 1)):
        raise ModelMismatch(
            f"SSD outputs {shapes} do not fit 4 box values and {classes} classes",
            details={"shapes": shapes, "labels": classes},
        )
    return boxes.astype(np.float64), scores.astype(np.float64)


def decode(
    outputs: Sequence[np.ndarray],
    params: SsdParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection]:
    anchors = np.asarray(params.anchors, dtype=np.float64)
    encodings, scores = _split(outputs, len(anchors), len(labels))
    y_scale, x_scale, h_scale, w_scale = params.scales
    ycenter = encodings[:, 0] / y_scale * anchors[:, 2] + anchors[:, 0]
    xcenter = encodings[:, 1] / x_scale * anchors[:, 3] + anchors[:, 1]
    height = np.exp(encodings[:, 2] / h_scale) * anchors[:, 2]
    width = np.exp(encodings[:, 3] / w_scale) * anchors[:, 3]
    boxes = np.stack(
        [
            (xcenter - width / 2) * input_size[0],
            (ycenter - height / 2) * input_size[1],
            (xcenter + width / 2) * input_size[0],
            (ycenter + height / 2) * input_size[1],
        ],
        axis=1,
    )
    if params.class_activation == "sigmoid":
        scores = sigmoid(scores)
    elif params.class_activation == "softmax":
        scores = softmax(scores, axis=1)
    if params.background_class:
        scores = scores[:, 1:]
    class_ids = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), class_ids]
    return select(boxes, best, class_ids, post, labels)
