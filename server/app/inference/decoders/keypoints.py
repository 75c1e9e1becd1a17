"""Keypoint (pose) outputs: a box, a score and K points per instance.

* ``yolo_pose`` (YOLOv8/v11-pose): ``[1, 5 + 3K, N]`` (or ``[1, N, 5 + 3K]``) — cx, cy,
  w, h, score, then x, y, visibility per point, in model-input pixels.
* ``movenet`` (MoveNet MultiPose): ``[1, P, 3K + 5]`` — y, x, score per point, then
  ymin, xmin, ymax, xmax, score, all as fractions of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

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

#: COCO's 17 person keypoints, the order YOLO-pose and MoveNet both use.
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip


class KeypointsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["keypoints"] = "keypoints"
    layout: Literal["yolo_pose", "movenet"] = "yolo_pose"
    keypoint_names: list[str] = Field(default_factory=lambda: list(COCO_KEYPOINTS), min_length=1)
    keypoint_activation: Literal["sigmoid", "none"] = Field(
        default="none", description="'sigmoid' when point scores are logits."
    )


def _table(output: np.ndarray, width: int, transposable: bool) -> np.ndarray:
    table = squeeze_batch(output, "0")
    if table.ndim == 2 and table.shape[1] == width:
        return table.astype(np.float64)
    if transposable and table.ndim == 2 and table.shape[0] == width:
        return table.T.astype(np.float64)
    raise ModelMismatch(
        f"keypoint output {list(np.asarray(output).shape)} does not hold {width} values per "
        "instance",
        details={"shape": list(np.asarray(output).shape), "expected_values": width},
    )


def decode(
    outputs: Sequence[np.ndarray],
    params: KeypointsParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection]:
    if len(outputs) != 1:
        raise ModelMismatch(
            f"a keypoint model has one output; this one has {len(outputs)}",
            details={"outputs": len(outputs)},
        )
    count = len(params.keypoint_names)
    if params.layout == "yolo_pose":
        rows = _table(outputs[0], 5 + 3 * count, transposable=True)
        boxes = cxcywh_to_xyxy(rows[:, :4])
        scores = rows[:, 4]
        points = rows[:, 5:].reshape(-1, count, 3).copy()
    else:
        rows = _table(outputs[0], 3 * count + 5, transposable=False)
        width, height = input_size
        yx = rows[:, : 3 * count].reshape(-1, count, 3)
        points = np.stack([yx[..., 1] * width, yx[..., 0] * height, yx[..., 2]], axis=-1)
        tail = rows[:, 3 * count :]
        boxes = np.stack(
            [tail[:, 1] * width, tail[:, 0] * height, tail[:, 3] * width, tail[:, 2] * height],
            axis=1,
        )
        scores = tail[:, 4]
    if params.keypoint_activation == "sigmoid":
        points[..., 2] = sigmoid(points[..., 2])
    class_ids = np.zeros(len(rows), dtype=np.int64)
    return select(boxes, scores, class_ids, post, labels, keypoints=points)
