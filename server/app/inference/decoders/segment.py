"""YOLO segmentation outputs (YOLOv8/v11-seg): boxes, class scores and mask coefficients,
plus a set of prototype masks.

* detections ``[1, 4 + C + M, N]`` (or ``[1, N, 4 + C + M]``): cx, cy, w, h, C class scores,
  M mask coefficients;
* prototypes ``[1, M, H/4, W/4]`` (any resolution): an instance's mask is
  ``sigmoid(coefficients @ prototypes)``, kept inside its box, at ``mask_threshold``.

Masks come back at model-input resolution (``Detection.mask``, boolean ``[H, W]``); the
caller maps them to the image with ``Geometry.mask_to_image``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.inference.decoders.base import (
    Detection,
    Postprocess,
    cxcywh_to_xyxy,
    select,
    sigmoid,
    squeeze_batch,
)
from app.inference.errors import ModelMismatch


class SegmentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["yolo_seg"] = "yolo_seg"
    mask_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    normalized: bool = False


def _split(outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    shapes = [list(np.asarray(o).shape) for o in outputs]
    if len(outputs) == 2:
        first, second = (np.asarray(o) for o in outputs)
        if first.ndim == 3 and second.ndim == 4:
            return first, second
        if first.ndim == 4 and second.ndim == 3:
            return second, first
    raise ModelMismatch(
        f"YOLO-seg outputs {shapes} are not detections [1, 4 + C + M, N] and prototypes "
        "[1, M, h, w]",
        details={"shapes": shapes},
    )


def decode(
    outputs: Sequence[np.ndarray],
    params: SegmentParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection]:
    table, protos = _split(outputs)
    protos = squeeze_batch(protos, "prototypes").astype(np.float32)  # [M, h, w]
    channels = protos.shape[0]
    width = 4 + len(labels) + channels
    rows = squeeze_batch(table, "detections")
    if rows.ndim == 2 and rows.shape[0] == width and rows.shape[1] != width:
        rows = rows.T
    if rows.ndim != 2 or rows.shape[1] != width:
        raise ModelMismatch(
            f"YOLO-seg detections {list(table.shape)} do not hold 4 + {len(labels)} labels + "
            f"{channels} mask coefficients per candidate",
            details={"shape": list(table.shape), "labels": len(labels), "mask_channels": channels},
        )
    rows = rows.astype(np.float64)
    boxes = cxcywh_to_xyxy(rows[:, :4])
    if params.normalized:
        boxes[:, 0::2] *= input_size[0]
        boxes[:, 1::2] *= input_size[1]
    scores_by_class = rows[:, 4 : 4 + len(labels)]
    class_ids = scores_by_class.argmax(axis=1)
    scores = scores_by_class[np.arange(len(rows)), class_ids]
    # The coefficients ride along as "keypoints" through thresholding and NMS.
    found = select(boxes, scores, class_ids, post, labels, keypoints=rows[:, 4 + len(labels) :])
    return [_with_mask(d, protos, params, input_size) for d in found]


def _with_mask(
    found: Detection, protos: np.ndarray, params: SegmentParams, input_size: tuple[int, int]
) -> Detection:
    coefficients = np.asarray(found.keypoints, dtype=np.float32)
    channels, height, width = protos.shape
    small = sigmoid(coefficients @ protos.reshape(channels, -1)).reshape(height, width)
    full = cv2.resize(small.astype(np.float32), input_size, interpolation=cv2.INTER_LINEAR)
    x1, y1, x2, y2 = (round(v) for v in found.box)
    inside = np.zeros(full.shape, dtype=bool)
    inside[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    return replace(found, keypoints=None, mask=(full > params.mask_threshold) & inside)
