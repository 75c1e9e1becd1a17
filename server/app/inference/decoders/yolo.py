"""YOLO-family outputs.

* ``v5`` (also v7, YOLOX-style exports): ``[1, N, 5 + C]`` — cx, cy, w, h, objectness,
  then C class scores; a candidate's score is objectness x class score.
* ``v8`` / ``v11``: ``[1, 4 + C, N]`` — cx, cy, w, h, then C class scores, no
  objectness (``[1, N, 4 + C]`` is accepted too when the shape leaves no doubt).

Boxes are in model-input pixels, or fractions of the input when ``normalized``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from app.inference.decoders.base import (
    Detection,
    Postprocess,
    cxcywh_to_xyxy,
    select,
    squeeze_batch,
)
from app.inference.errors import ModelMismatch


class YoloParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["yolo"] = "yolo"
    layout: Literal["v5", "v8", "v11"] = "v8"
    normalized: bool = False


def _rows(output: np.ndarray, params: YoloParams, classes: int) -> np.ndarray:
    """The ``[N, features]`` candidate table of the one output."""
    table = squeeze_batch(output, "0")
    if table.ndim != 2:
        raise ModelMismatch(
            f"YOLO {params.layout} output must be [1, A, B]; got {list(output.shape)}",
            details={"shape": list(output.shape)},
        )
    extra = 5 if params.layout == "v5" else 4
    if params.layout == "v5":
        rows = table
    elif classes and table.shape[0] == extra + classes:
        rows = table.T
    elif classes and table.shape[1] == extra + classes:
        rows = table
    else:  # no labels to tell: the feature axis is the shorter one
        rows = table.T if table.shape[0] < table.shape[1] else table
    if rows.shape[1] <= extra or (classes and rows.shape[1] != extra + classes):
        expected = f"{extra} + {classes or 'C'}"
        raise ModelMismatch(
            f"YOLO {params.layout} output {list(output.shape)} does not hold {expected} "
            f"values per candidate for the manifest's {classes} labels",
            details={"shape": list(output.shape), "labels": classes},
        )
    return rows.astype(np.float32, copy=False)


def decode(
    outputs: Sequence[np.ndarray],
    params: YoloParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection]:
    if len(outputs) != 1:
        raise ModelMismatch(
            f"a YOLO model has one output; this one has {len(outputs)}",
            details={"outputs": len(outputs)},
        )
    rows = _rows(outputs[0], params, len(labels))
    boxes = cxcywh_to_xyxy(rows[:, :4].astype(np.float64))
    if params.normalized:
        boxes[:, 0::2] *= input_size[0]
        boxes[:, 1::2] *= input_size[1]
    class_scores = rows[:, 5:] * rows[:, 4:5] if params.layout == "v5" else rows[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(rows)), class_ids].astype(np.float64)
    return select(boxes, scores, class_ids, post, labels)
