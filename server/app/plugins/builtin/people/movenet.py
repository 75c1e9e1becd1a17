"""MoveNet MultiPose Lightning: up to six people, each with a box and 17 COCO keypoints.

Google's bottom-up pose model (TF Hub, Apache-2.0; converted to ONNX, see NOTICE). The image
is letterboxed so its longer side is 256 px and both sides are multiples of 32 (black bars),
fed as int32 RGB 0-255; the single output ``[1, 6, 56]`` holds per person 17 x (y, x,
score) and a box (ymin, xmin, ymax, xmax, score), as fractions of the input, which
:mod:`app.inference.decoders.keypoints` reads (``movenet`` layout). Boxes and points are
mapped back to the image's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.inference.decoders import COCO_KEYPOINTS, KeypointsParams, Postprocess
from app.inference.decoders.keypoints import decode
from app.inference.geometry import letterbox
from app.plugins.builtin.detection.base import Backend, Found
from app.plugins.builtin.detection.sessions import open_model

WEIGHTS = Path(__file__).resolve().parent / "weights" / "movenet-multipose-lightning.onnx"
LONGEST = 256
PARAMS = KeypointsParams(layout="movenet", keypoint_activation="none")


@dataclass(frozen=True)
class MoveNetOptions:
    threshold: float = 0.15
    overlap: float = 0.45


def input_size(width: int, height: int) -> tuple[int, int]:
    """The model input for a ``width`` x ``height`` image: longer side 256, multiples of 32."""
    scale = LONGEST / max(width, height)
    return (
        max(32, math.ceil(width * scale / 32) * 32),
        max(32, math.ceil(height * scale / 32) * 32),
    )


class MoveNet(Backend):
    def __init__(self, plugin: str = "people") -> None:
        self._plugin = plugin
        self._session: Any = None

    def load(self) -> None:
        self._session = open_model(WEIGHTS, plugin=self._plugin)
        self._input = self._session.get_inputs()[0].name

    def detect(self, rgb: np.ndarray, options: MoveNetOptions, scale: float = 1.0) -> list[Found]:
        size = input_size(rgb.shape[1], rgb.shape[0])
        fitted, geometry = letterbox(rgb, size, pad_value=0)
        tensor = np.ascontiguousarray(fitted[np.newaxis].astype(np.int32))
        (output,) = self._session.run(None, {self._input: tensor})
        post = Postprocess(
            score_threshold=options.threshold,
            iou=options.overlap,
            max_detections=6,
            class_agnostic=True,
        )
        found = []
        for person in decode([output], PARAMS, post, ["person"], size):
            box = geometry.boxes_to_image(np.asarray([person.box]))[0]
            assert person.keypoints is not None  # the keypoints layout always has them
            points = geometry.points_to_image(person.keypoints[:, :2])
            found.append(
                Found(
                    box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    score=round(float(person.confidence), 4),
                    label="person",
                    points=tuple(
                        (name, float(x), float(y), float(s))
                        for name, (x, y), s in zip(
                            COCO_KEYPOINTS, points, person.keypoints[:, 2], strict=True
                        )
                    ),
                )
            )
        return found
