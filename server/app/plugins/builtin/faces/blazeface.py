"""BlazeFace (MediaPipe's "back camera" model, 256x256): a fast single-shot face detector.

The image is letterboxed into 256x256 (black bars), scaled to [-1, 1]; 896 anchors (a 16x16
grid with 2 anchors per cell at stride 16, an 8x8 grid with 6 at stride 32; this ONNX file
splits the outputs into the 512 and the 384) each regress a box (centre and size) and six
keypoints as offsets in input pixels from the anchor's centre, and a face logit. Faces
scoring at least 0.65 are merged by weighted NMS (overlapping candidates averaged by score,
MediaPipe's way), which steadies the box. Speed: a few milliseconds per image, whatever its
size; small faces are missed (a 34 px face in a 640 px photo: 14 px of the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.inference.decoders.base import sigmoid
from app.inference.geometry import letterbox
from app.inference.tensor import Layout, to_tensor
from app.plugins.builtin.detection.base import Backend, Found
from app.plugins.builtin.detection.sessions import open_model
from app.plugins.builtin.faces.weights import WEIGHTS

SIZE = 256
#: MediaPipe's keypoints in output order; left and right are the person's own.
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")
#: (stride, anchors per cell) of the two feature maps, in output order.
LAYERS = ((16, 2), (32, 6))


@dataclass(frozen=True)
class BlazeFaceOptions:
    threshold: float = 0.65
    overlap: float = 0.3


def _anchors() -> np.ndarray:
    """``[896, 2]`` anchor centres in input pixels."""
    centres = []
    for stride, per_cell in LAYERS:
        cells = SIZE // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float64)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, overlap: float
) -> list[tuple[np.ndarray, float]]:
    """Clusters of boxes overlapping the best remaining one (IoU > ``overlap``), each
    replaced by the score-weighted mean of its members (boxes with their keypoints:
    every column of ``boxes`` is averaged); the cluster keeps its best score."""
    order = np.argsort(-scores, kind="stable")
    merged = []
    while order.size:
        best = order[0]
        x1 = np.maximum(boxes[best, 0], boxes[order, 0])
        y1 = np.maximum(boxes[best, 1], boxes[order, 1])
        x2 = np.minimum(boxes[best, 2], boxes[order, 2])
        y2 = np.minimum(boxes[best, 3], boxes[order, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        area = (boxes[order, 2] - boxes[order, 0]) * (boxes[order, 3] - boxes[order, 1])
        union = area[0] + area - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        members = order[iou > overlap]
        if best not in members:
            members = np.append(members, best)
        weights = scores[members][:, None]
        merged.append(((boxes[members] * weights).sum(axis=0) / weights.sum(), float(scores[best])))
        order = order[iou <= overlap]
        order = order[order != best]
    return merged


class BlazeFace(Backend):
    def __init__(self, plugin: str = "faces") -> None:
        self._plugin = plugin
        self._session: Any = None
        self._anchors = _anchors()

    def load(self) -> None:
        self._session = open_model(WEIGHTS / "blazeface-back-256.onnx", plugin=self._plugin)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]

    def detect(self, rgb: np.ndarray, options: BlazeFaceOptions, scale: float = 1.0) -> list[Found]:
        fitted, geometry = letterbox(rgb, (SIZE, SIZE), pad_value=0)
        tensor = to_tensor(fitted, layout=Layout.NHWC, scale=1 / 127.5, mean=(1.0, 1.0, 1.0))
        logits_a, logits_b, raw_a, raw_b = self._session.run(self._outputs, {self._input: tensor})
        scores = sigmoid(np.concatenate([logits_a[0], logits_b[0]])[:, 0])
        raw = np.concatenate([raw_a[0], raw_b[0]]).astype(np.float64)
        keep = np.flatnonzero(scores >= options.threshold)
        if not keep.size:
            return []
        centre = self._anchors[keep]
        cx, cy = centre[:, 0] + raw[keep, 0], centre[:, 1] + raw[keep, 1]
        w, h = raw[keep, 2], raw[keep, 3]
        points = raw[keep, 4:16].reshape(-1, 6, 2) + centre[:, None, :]
        table = np.hstack(
            [
                np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1),
                points.reshape(-1, 12),
            ]
        )
        found = []
        for row, score in weighted_nms(table, scores[keep], options.overlap):
            box = geometry.boxes_to_image(row[None, :4])[0]
            pts = geometry.points_to_image(row[4:].reshape(6, 2))
            found.append(
                Found(
                    box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    score=round(score, 4),
                    points=tuple(
                        (name, float(x), float(y), score)
                        for name, (x, y) in zip(KEYPOINTS, pts, strict=True)
                    ),
                )
            )
        return found
