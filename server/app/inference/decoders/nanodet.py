"""NanoDet / GFL outputs: class scores and box distributions per cell of each stride.

Every cell of a stride-``s`` feature map (``ceil(width / s)`` x ``ceil(height / s)``,
row-major) predicts C class scores and, for each side (left, top, right, bottom),
``bins`` logits over distances ``0 .. bins-1``. The distance is the softmax's expected
value x ``s``, measured from the cell centre ``((i + center_offset) * s, (j + ...) * s)``.

The outputs may come as one table ``[1, N, C + 4 * bins]`` (all strides concatenated,
finest first) or as separate class and box outputs per stride in any order, told apart by
their widths (C or 4 x bins) and by their cell counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.inference.decoders.base import Detection, Postprocess, select, sigmoid, softmax
from app.inference.errors import ModelMismatch


class NanoDetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["nanodet"] = "nanodet"
    strides: list[int] = Field(default_factory=lambda: [8, 16, 32], min_length=1)
    bins: int = Field(default=8, ge=1, description="Distance bins per side (reg_max + 1).")
    center_offset: float = Field(default=0.5, description="Cell centre at (i + offset) x stride.")
    class_activation: Literal["sigmoid", "none"] = Field(
        default="none", description="'sigmoid' when the class outputs are logits."
    )


def _cells(stride: int, input_size: tuple[int, int]) -> tuple[int, int]:
    return math.ceil(input_size[0] / stride), math.ceil(input_size[1] / stride)


def _tables(
    outputs: Sequence[np.ndarray], params: NanoDetParams, classes: int, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Class scores ``[N, C]`` and distributions ``[N, 4 * bins]``, strides in order."""
    box_width = 4 * params.bins
    counts = [cols * rows for cols, rows in (_cells(s, input_size) for s in params.strides)]
    arrays = [np.asarray(o).reshape(-1, np.asarray(o).shape[-1]) for o in outputs]
    shapes = [list(np.asarray(o).shape) for o in outputs]
    if len(arrays) == 1:
        table = arrays[0]
        if table.shape[0] != sum(counts) or table.shape[1] <= box_width:
            raise ModelMismatch(
                f"NanoDet output {shapes[0]} is not [1, {sum(counts)}, C + {box_width}] "
                f"for strides {params.strides} at {input_size[0]}x{input_size[1]}",
                details={"shapes": shapes},
            )
        scores, boxes = table[:, :-box_width], table[:, -box_width:]
    else:
        by_rows: dict[tuple[int, bool], np.ndarray] = {}
        for array in arrays:
            is_box = array.shape[1] == box_width and (classes != box_width)
            by_rows[(array.shape[0], is_box)] = array
        try:
            scores = np.concatenate([by_rows[(n, False)] for n in counts])
            boxes = np.concatenate([by_rows[(n, True)] for n in counts])
        except KeyError as exc:
            raise ModelMismatch(
                f"NanoDet outputs {shapes} are not a class and a box output per stride "
                f"{params.strides} ({counts} cells, box width {box_width})",
                details={"shapes": shapes, "cells": counts},
            ) from exc
    if classes and scores.shape[1] != classes:
        raise ModelMismatch(
            f"NanoDet class outputs have {scores.shape[1]} classes; the manifest has {classes} "
            "labels",
            details={"classes": int(scores.shape[1]), "labels": classes},
        )
    return scores.astype(np.float64), boxes.astype(np.float64)


def decode(
    outputs: Sequence[np.ndarray],
    params: NanoDetParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection]:
    scores, dists = _tables(outputs, params, len(labels), input_size)
    if params.class_activation == "sigmoid":
        scores = sigmoid(scores)
    centres, strides = [], []
    for stride in params.strides:
        cols, rows = _cells(stride, input_size)
        ys, xs = np.mgrid[0:rows, 0:cols]
        centre = np.stack([xs.ravel(), ys.ravel()], axis=1) + params.center_offset
        centres.append(centre * stride)
        strides.append(np.full(cols * rows, stride, dtype=np.float64))
    centre = np.concatenate(centres)
    stride_of = np.concatenate(strides)
    probs = softmax(dists.reshape(-1, 4, params.bins), axis=-1)
    distance = (probs * np.arange(params.bins, dtype=np.float64)).sum(axis=-1)
    distance *= stride_of[:, None]  # left, top, right, bottom
    boxes = np.stack(
        [
            centre[:, 0] - distance[:, 0],
            centre[:, 1] - distance[:, 1],
            centre[:, 0] + distance[:, 2],
            centre[:, 1] + distance[:, 3],
        ],
        axis=1,
    )
    class_ids = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), class_ids]
    return select(boxes, best, class_ids, post, labels)
