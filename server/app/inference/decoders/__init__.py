"""Output decoders, one module per model family, behind one :func:`decode`.

A decoder takes a model's raw outputs, its manifest section (the ``*Params`` model, told
apart by ``family``), the thresholds, the labels and the model's input size (width,
height), and returns results in model-input pixels; a shape that does not fit raises
:class:`~app.inference.errors.ModelMismatch`, which is how registration checks a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field

from app.inference.decoders import classification, keypoints, nanodet, segment, ssd, yolo
from app.inference.decoders.base import Classification, Detection, Postprocess
from app.inference.decoders.classification import ClassifyParams
from app.inference.decoders.keypoints import COCO_KEYPOINTS, KeypointsParams
from app.inference.decoders.nanodet import NanoDetParams
from app.inference.decoders.segment import SegmentParams
from app.inference.decoders.ssd import SsdParams
from app.inference.decoders.yolo import YoloParams

__all__ = [
    "COCO_KEYPOINTS",
    "Classification",
    "ClassifyParams",
    "DecoderParams",
    "Detection",
    "KeypointsParams",
    "NanoDetParams",
    "Postprocess",
    "SegmentParams",
    "SsdParams",
    "YoloParams",
    "decode",
]

#: A manifest's ``decoder`` section: one of the families, chosen by its ``family`` field.
DecoderParams = Annotated[
    YoloParams | NanoDetParams | SsdParams | ClassifyParams | KeypointsParams | SegmentParams,
    Field(discriminator="family"),
]


def decode(
    outputs: Sequence[np.ndarray],
    params: YoloParams
    | NanoDetParams
    | SsdParams
    | ClassifyParams
    | KeypointsParams
    | SegmentParams,
    post: Postprocess,
    labels: Sequence[str],
    input_size: tuple[int, int],
) -> list[Detection] | list[Classification]:
    """Decode with the family ``params`` names."""
    if isinstance(params, YoloParams):
        return yolo.decode(outputs, params, post, labels, input_size)
    if isinstance(params, NanoDetParams):
        return nanodet.decode(outputs, params, post, labels, input_size)
    if isinstance(params, SsdParams):
        return ssd.decode(outputs, params, post, labels, input_size)
    if isinstance(params, SegmentParams):
        return segment.decode(outputs, params, post, labels, input_size)
    if isinstance(params, KeypointsParams):
        return keypoints.decode(outputs, params, post, labels, input_size)
    return classification.decode(outputs, params, post, labels, input_size)
