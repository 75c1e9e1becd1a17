"""A mask's outline as a vocabulary polygon: clockwise, from its top-left corner."""

from __future__ import annotations

import cv2
import numpy as np

#: How far (pixels) the simplified outline may stray from the mask's edge.
_TOLERANCE_PX = 1.5


def polygon(mask: np.ndarray) -> list[list[int]] | None:
    """The outline of the largest region of a boolean mask; None when it is empty."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    points = cv2.approxPolyDP(largest, _TOLERANCE_PX, True).reshape(-1, 2)
    if len(points) < 3:
        return None
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        points = points[::-1]  # clockwise on screen (y down) has a positive signed area
    start = int(np.argmin(points[:, 0] + points[:, 1]))
    return [[int(px), int(py)] for px, py in np.roll(points, -start, axis=0)]
