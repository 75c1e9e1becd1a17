"""MTCNN: a three-network face detector cascade with five landmarks per face.

Zhang et al. (2016). P-Net, a small fully-convolutional network, scores every 12x12 cell
(stride 2) of an image pyramid; the candidates, merged by NMS, are squared and re-scored
at 24x24 by R-Net and at 48x48 by O-Net, each stage also regressing the box; O-Net adds
the eyes, nose and mouth corners. The ONNX files (see NOTICE) are ipazc/mtcnn's Keras
weights: NHWC input scaled to ``(x - 127.5) / 128``, with height and width swapped (the
networks were trained on transposed images), so every input is transposed and P-Net's maps
transposed back.

The pyramid starts at the scale that maps ``min_size`` to 12 px and shrinks by 0.709
until the image is smaller than 12 px: a larger ``min_size`` means fewer, smaller levels
and a faster call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.inference.nms import nms
from app.plugins.builtin.detection.base import Backend, Found
from app.plugins.builtin.detection.sessions import open_model
from app.plugins.builtin.faces.weights import WEIGHTS

#: O-Net's landmarks in output order. Left and right are the person's own, as in COCO and
#: MediaPipe (O-Net's first point is the eye on the image's left: the right eye).
LANDMARKS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
PYRAMID_FACTOR = 0.709
CELL, STRIDE = 12, 2


@dataclass(frozen=True)
class MtcnnOptions:
    min_size: int = 30  # in the caller's pixels
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)


def _normalised(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) - 127.5) * 0.0078125


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes grown to squares around their centres (the next stage's input is square)."""
    boxes = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += (w - side) / 2
    boxes[:, 1] += (h - side) / 2
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply a stage's box regression (offsets as fractions of the box's width/height)."""
    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    return boxes[:, :4] + offsets * np.hstack([w, h, w, h])


def _crops(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Each box cut from ``rgb`` (zeros outside it), resized to ``size``, transposed, scaled."""
    height, width = rgb.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), dtype=np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes[:, :4]).astype(np.int64)):
        if x2 <= x1 or y2 <= y1:
            continue
        patch = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
        resized = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = _normalised(resized).transpose(1, 0, 2)
    return out


class Mtcnn(Backend):
    def __init__(self, plugin: str = "faces") -> None:
        self._plugin = plugin
        self._nets: dict[str, Any] = {}

    def load(self) -> None:
        for net in ("pnet", "rnet", "onet"):
            self._nets[net] = open_model(WEIGHTS / f"mtcnn-{net}.onnx", plugin=self._plugin)

    def _run(self, net: str, batch: np.ndarray) -> list[np.ndarray]:
        session = self._nets[net]
        return session.run(None, {session.get_inputs()[0].name: batch})

    def _scales(self, height: int, width: int, min_size: float) -> list[float]:
        scale = CELL / max(min_size, 1.0)
        smallest = min(height, width) * scale
        scales = []
        while smallest >= CELL:
            scales.append(scale)
            scale *= PYRAMID_FACTOR
            smallest *= PYRAMID_FACTOR
        return scales

    def _proposals(self, rgb: np.ndarray, min_size: float, threshold: float) -> np.ndarray:
        """Stage 1: P-Net over the pyramid → ``[N, 5]`` boxes (x1, y1, x2, y2, score)."""
        height, width = rgb.shape[:2]
        found = []
        for scale in self._scales(height, width, min_size):
            size = (int(np.ceil(width * scale)), int(np.ceil(height * scale)))
            level = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            batch = _normalised(level).transpose(1, 0, 2)[None]
            offsets, probs = self._run("pnet", batch)
            score = probs[0, :, :, 1].T  # back to rows = y
            delta = offsets[0].transpose(1, 0, 2)
            ys, xs = np.nonzero(score >= threshold)
            if not len(ys):
                continue
            boxes = np.stack(
                [
                    (STRIDE * xs + 1) / scale,
                    (STRIDE * ys + 1) / scale,
                    (STRIDE * xs + CELL) / scale,
                    (STRIDE * ys + CELL) / scale,
                    score[ys, xs],
                ],
                axis=1,
            )
            regressed = np.hstack([_regress(boxes, delta[ys, xs]), boxes[:, 4:]])
            found.append(regressed[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        if not found:
            return np.zeros((0, 5))
        boxes = np.concatenate(found)
        return boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]

    def detect(self, rgb: np.ndarray, options: MtcnnOptions, scale: float = 1.0) -> list[Found]:
        boxes = self._proposals(rgb, options.min_size * scale, options.thresholds[0])
        if not len(boxes):
            return []
        # Stage 2: R-Net re-scores and refines each squared candidate.
        boxes = _square(boxes)
        offsets, probs = self._run("rnet", _crops(rgb, boxes, 24))
        keep = probs[:, 1] >= options.thresholds[1]
        if not keep.any():
            return []
        boxes = np.hstack([_regress(boxes[keep], offsets[keep]), probs[keep, 1:2]])
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        # Stage 3: O-Net gives the final score, box and landmarks.
        boxes = _square(boxes)
        offsets, marks, probs = self._run("onet", _crops(rgb, boxes, 48))
        keep = probs[:, 1] >= options.thresholds[2]
        if not keep.any():
            return []
        square, scores = boxes[keep], probs[keep, 1]
        w = (square[:, 2] - square[:, 0])[:, None]
        h = (square[:, 3] - square[:, 1])[:, None]
        xs = square[:, 0:1] + marks[keep, 0:5] * w
        ys = square[:, 1:2] + marks[keep, 5:10] * h
        final = _regress(square, offsets[keep])
        order = _nms_min(final, scores, 0.7)
        return [
            Found(
                box=(
                    float(final[i, 0]),
                    float(final[i, 1]),
                    float(final[i, 2]),
                    float(final[i, 3]),
                ),
                score=round(float(scores[i]), 4),
                points=tuple(
                    (name, float(xs[i, k]), float(ys[i, k]), float(scores[i]))
                    for k, name in enumerate(LANDMARKS)
                ),
            )
            for i in order
        ]


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """NMS where overlap is intersection over the *smaller* box: a box mostly inside a
    better one (a face's half found twice) goes, as MTCNN's last stage does."""
    order = list(np.argsort(-scores, kind="stable"))
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1], 0, None
    )
    keep: list[int] = []
    while order:
        best, rest = order[0], np.asarray(order[1:], dtype=np.int64)
        keep.append(int(best))
        if not len(rest):
            break
        iw = np.clip(
            np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]),
            0,
            None,
        )
        ih = np.clip(
            np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]),
            0,
            None,
        )
        smaller = np.minimum(areas[best], areas[rest])
        overlap = np.divide(iw * ih, smaller, out=np.zeros(len(rest)), where=smaller > 0)
        order = [int(i) for i in rest[overlap <= threshold]]
    return keep
