"""Whole-image classification: one output of C scores, the top ``top_k`` returned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.inference.decoders.base import Classification, Postprocess, label_of, sigmoid, softmax
from app.inference.errors import ModelMismatch


class ClassifyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Literal["classify"] = "classify"
    activation: Literal["softmax", "sigmoid", "none"] = Field(
        default="softmax",
        description="softmax for logits of exclusive classes; none for probabilities.",
    )
    top_k: int = Field(default=5, ge=1, le=1000)


def decode(
    outputs: Sequence[np.ndarray],
    params: ClassifyParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Classification]:
    shapes = [list(np.asarray(o).shape) for o in outputs]
    logits = np.asarray(outputs[0], dtype=np.float64).reshape(-1) if outputs else np.zeros(0)
    if len(outputs) != 1 or logits.size == 0 or (labels and logits.size != len(labels)):
        raise ModelMismatch(
            f"a classifier has one output of {len(labels) or 'C'} scores; got {shapes}",
            details={"shapes": shapes, "labels": len(labels)},
        )
    if params.activation == "softmax":
        scores = softmax(logits)
    elif params.activation == "sigmoid":
        scores = sigmoid(logits)
    else:
        scores = logits
    order = np.argsort(-scores, kind="stable")[: min(params.top_k, post.max_detections)]
    return [
        Classification(int(i), label_of(labels, int(i)), float(np.clip(scores[i], 0.0, 1.0)))
        for i in order
        if scores[i] >= post.score_threshold
    ]
