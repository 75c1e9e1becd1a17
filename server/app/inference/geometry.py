"""Fitting an image to a model's input size, and mapping results back to the image.

Two ways to fit: **letterbox** keeps the aspect ratio and pads the rest (centred, grey 114
as YOLO's training used), **stretch** scales each axis on its own. Either way the returned
:class:`Geometry` turns boxes and points found in model-input pixels back into pixels of
the original image, clipped to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

#: The grey YOLO-family models were trained to see as padding.
PAD_VALUE = 114


class Resize(StrEnum):
    LETTERBOX = "letterbox"
    STRETCH = "stretch"


@dataclass(frozen=True)
class Geometry:
    """How an image of ``width`` x ``height`` was placed into the model input.

    Model pixel ``x`` = original ``x * scale_x + pad_x`` (same for y).
    """

    width: int
    height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def boxes_to_image(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """``[N, 4]`` x1, y1, x2, y2 in model pixels → original pixels, clipped to the image."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
        boxes[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        boxes[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, self.width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, self.height)
        return boxes

    def points_to_image(self, points_xy: np.ndarray) -> np.ndarray:
        """``[..., 2]`` x, y in model pixels → original pixels, clipped to the image."""
        points = np.asarray(points_xy, dtype=np.float64).copy()
        points[..., 0] = ((points[..., 0] - self.pad_x) / self.scale_x).clip(0, self.width)
        points[..., 1] = ((points[..., 1] - self.pad_y) / self.scale_y).clip(0, self.height)
        return points

    def mask_to_image(self, mask: np.ndarray) -> np.ndarray:
        """A boolean mask at model-input resolution → the original image's size."""
        new_w = max(1, round(self.width * self.scale_x))
        new_h = max(1, round(self.height * self.scale_y))
        x, y = round(self.pad_x), round(self.pad_y)
        placed = np.ascontiguousarray(mask[y : y + new_h, x : x + new_w], dtype=np.uint8)
        resized = cv2.resize(placed, (self.width, self.height), interpolation=cv2.INTER_NEAREST)
        return resized.astype(bool)


def _resized(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    shrinking = width < rgb.shape[1] and height < rgb.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(rgb, (width, height), interpolation=interpolation)


def letterbox(
    rgb: np.ndarray, size: tuple[int, int], *, pad_value: int = PAD_VALUE
) -> tuple[np.ndarray, Geometry]:
    """``rgb`` (H, W, 3) uint8 scaled to fit ``size`` (width, height), padded around."""
    target_w, target_h = size
    height, width = rgb.shape[:2]
    scale = min(target_w / width, target_h / height)
    new_w = max(1, min(target_w, round(width * scale)))
    new_h = max(1, min(target_h, round(height * scale)))
    pad_x = (target_w - new_w) // 2
    pad_y = (target_h - new_h) // 2
    canvas = np.full((target_h, target_w, rgb.shape[2]), pad_value, dtype=rgb.dtype)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = _resized(rgb, new_w, new_h)
    # The scale actually applied per axis (rounding makes it differ slightly from `scale`).
    geometry = Geometry(width, height, new_w / width, new_h / height, pad_x, pad_y)
    return canvas, geometry


def stretch(rgb: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Geometry]:
    """``rgb`` (H, W, 3) uint8 scaled to exactly ``size`` (width, height)."""
    target_w, target_h = size
    height, width = rgb.shape[:2]
    resized = _resized(rgb, target_w, target_h)
    return resized, Geometry(width, height, target_w / width, target_h / height)


def fit(
    rgb: np.ndarray, size: tuple[int, int], mode: Resize, *, pad_value: int = PAD_VALUE
) -> tuple[np.ndarray, Geometry]:
    """:func:`letterbox` or :func:`stretch`, as a manifest says."""
    if mode is Resize.LETTERBOX:
        return letterbox(rgb, size, pad_value=pad_value)
    return stretch(rgb, size)
