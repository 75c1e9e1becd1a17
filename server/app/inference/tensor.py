"""From fitted RGB pixels to the input tensor a model expects.

Layout (NCHW or NHWC), channel order (RGB or BGR), dtype and normalisation
``(pixel * scale - mean) / std`` per channel (in the model's channel order), as a model's
manifest states them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np


class Layout(StrEnum):
    NCHW = "NCHW"
    NHWC = "NHWC"


class ColorOrder(StrEnum):
    RGB = "RGB"
    BGR = "BGR"


def to_tensor(
    rgb: np.ndarray,
    *,
    layout: Layout = Layout.NCHW,
    color: ColorOrder = ColorOrder.RGB,
    scale: float = 1.0 / 255.0,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
    dtype: type[np.generic] | np.dtype = np.float32,
) -> np.ndarray:
    """A batch of one: ``[1, 3, H, W]`` or ``[1, H, W, 3]``.

    Integer dtypes (a model that takes raw 0-255 pixels) skip normalisation.
    """
    pixels = rgb[:, :, ::-1] if color is ColorOrder.BGR else rgb
    target = np.dtype(dtype)
    if np.issubdtype(target, np.integer):
        array = pixels.astype(target)
    else:
        array = pixels.astype(np.float32) * np.float32(scale)
        array -= np.asarray(mean, dtype=np.float32)
        array /= np.asarray(std, dtype=np.float32)
        array = array.astype(target, copy=False)
    if layout is Layout.NCHW:
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array[np.newaxis])
