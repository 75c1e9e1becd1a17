"""What every decoder shares: the result shapes, the thresholds, the common arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.inference.errors import ModelMismatch
from app.inference.nms import batched_nms, nms


@dataclass(frozen=True)
class Detection:
    """One thing found, in model-input pixels until mapped back with a ``Geometry``.

    ``keypoints`` is ``[K, 3]``: x, y and a visibility/confidence score per point.
    """

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    class_id: int
    label: str
    confidence: float
    keypoints: np.ndarray | None = None


@dataclass(frozen=True)
class Classification:
    """One class of a whole-image classification."""

    class_id: int
    label: str
    confidence: float


class Postprocess(BaseModel):
    """Thresholds applied after decoding (the manifest's ``thresholds`` section)."""

    model_config = ConfigDict(extra="forbid")

    score_threshold: float = Field(default=0.25, ge=0.0, le=1.0, description="Drop weaker results.")
    iou: float = Field(default=0.45, ge=0.0, le=1.0, description="NMS IoU above which boxes merge.")
    max_detections: int = Field(default=100, ge=1, le=10_000, description="Most results returned.")
    class_agnostic: bool = Field(
        default=False, description="NMS across classes (one box per place) instead of within each."
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def label_of(labels: Sequence[str], class_id: int) -> str:
    return labels[class_id] if 0 <= class_id < len(labels) else str(class_id)


def squeeze_batch(output: np.ndarray, name: str) -> np.ndarray:
    """An output without its batch dimension of one (``[1, ...]`` → ``[...]``)."""
    array = np.asarray(output)
    if array.ndim >= 2 and array.shape[0] == 1:
        return array[0]
    raise ModelMismatch(
        f"output {name} has shape {list(array.shape)}; expected a batch of one [1, ...]",
        details={"output": name, "shape": list(array.shape)},
    )


def select(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    post: Postprocess,
    labels: Sequence[str],
    keypoints: np.ndarray | None = None,
) -> list[Detection]:
    """Threshold, NMS and cap candidate boxes into :class:`Detection` objects."""
    keep = np.flatnonzero(scores >= post.score_threshold)
    boxes, scores, class_ids = boxes_xyxy[keep], scores[keep], class_ids[keep]
    points = keypoints[keep] if keypoints is not None else None
    if post.class_agnostic:
        order = nms(boxes, scores, post.iou)
    else:
        order = batched_nms(boxes, scores, class_ids, post.iou)
    found = []
    for index in order[: post.max_detections]:
        class_id = int(class_ids[index])
        found.append(
            Detection(
                box=(
                    float(boxes[index, 0]),
                    float(boxes[index, 1]),
                    float(boxes[index, 2]),
                    float(boxes[index, 3]),
                ),
                class_id=class_id,
                label=label_of(labels, class_id),
                confidence=float(scores[index]),
                keypoints=None if points is None else np.asarray(points[index], np.float64),
            )
        )
    return found


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    cx, cy, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
