"""Pedestrian detection with OpenCV's HOG descriptor and its built-in linear SVMs.

Both SVMs ship inside OpenCV (no file, no download): Dalal and Triggs' 64x128 window
(``default``: people at least ~100 px tall) and the Daimler 48x96 window (``daimler``:
smaller people, more false hits). ``detectMultiScale`` returns many overlapping windows
per person; they are merged by non-maximum suppression (``cv2.dnn.NMSBoxes``) so each
person is reported once, with the window's margin removed so the box fits the body.
Images are detected on a copy no larger than ``max_side`` and boxes are scaled back to
the input's pixels. One OpenCV thread per worker, as for faces.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Window size of each model; the smallest person a model finds at scale 1.
WINDOWS: dict[str, tuple[int, int]] = {"default": (64, 128), "daimler": (48, 96)}


#: Share of a detection window the person fills: both models are trained on windows with
#: a margin around the body (a 64x128 window holds a person ~96 px tall, ~32-40 px wide).
BODY_WIDTH, BODY_HEIGHT = 0.5, 0.8


def _body(window: list[int]) -> tuple[float, float, float, float]:
    """The person's own box inside a detection window (centred, margins removed)."""
    x, y, w, h = window
    return (
        x + w * (1 - BODY_WIDTH) / 2,
        y + h * (1 - BODY_HEIGHT) / 2,
        w * BODY_WIDTH,
        h * BODY_HEIGHT,
    )


@dataclass(frozen=True)
class Person:
    box: tuple[int, int, int, int]
    score: float


class PeopleDetector:
    def __init__(self) -> None:
        self._cv2: Any = None
        self._hogs: dict[str, tuple[Any, threading.Lock]] = {}
        self._guard = threading.Lock()

    @property
    def started(self) -> bool:
        return self._cv2 is not None

    def start(self) -> None:
        import cv2

        cv2.setNumThreads(1)
        self._cv2 = cv2
        self._hog("default")

    def _hog(self, model: str) -> tuple[Any, threading.Lock]:
        cv2 = self._cv2
        with self._guard:
            entry = self._hogs.get(model)
            if entry is None:
                if model == "daimler":
                    hog = cv2.HOGDescriptor((48, 96), (16, 16), (8, 8), (8, 8), 9)
                    hog.setSVMDetector(cv2.HOGDescriptor_getDaimlerPeopleDetector())
                else:
                    hog = cv2.HOGDescriptor()
                    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
                entry = (hog, threading.Lock())
                self._hogs[model] = entry
            return entry

    def detect(
        self,
        image: np.ndarray,
        *,
        model: str,
        max_side: int,
        upscale: float,
        scale_factor: float,
        stride: int,
        min_score: float,
        overlap: float,
    ) -> list[Person]:
        cv2 = self._cv2
        height, width = image.shape[:2]
        ratio = min(max_side / max(height, width), 1.0) * upscale
        work = image
        if ratio != 1.0:
            size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
            interpolation = cv2.INTER_AREA if ratio < 1.0 else cv2.INTER_LINEAR
            work = cv2.resize(image, size, interpolation=interpolation)
        win_w, win_h = WINDOWS[model]
        if work.shape[0] < win_h or work.shape[1] < win_w:
            return []  # smaller than one detection window: nobody fits
        hog, lock = self._hog(model)
        with lock:
            rects, weights = hog.detectMultiScale(
                work,
                hitThreshold=0.0,
                winStride=(stride, stride),
                padding=(8, 8),
                scale=scale_factor,
                groupThreshold=0,  # raw windows: NMS below is the one merging step
            )
        boxes = [[int(v) for v in r] for r in np.asarray(rects).reshape(-1, 4)]
        scores = [float(w) for w in np.asarray(weights, dtype=np.float64).reshape(-1)]
        if not boxes:
            return []
        keep = cv2.dnn.NMSBoxes(boxes, scores, min_score, overlap)
        found = []
        for index in np.asarray(keep, dtype=np.int64).reshape(-1):
            x, y, w, h = _body(boxes[index])
            left, top = max(0, round(x / ratio)), max(0, round(y / ratio))
            right, bottom = min(width, round((x + w) / ratio)), min(height, round((y + h) / ratio))
            found.append(Person((left, top, right - left, bottom - top), round(scores[index], 3)))
        return sorted(found, key=lambda p: p.score, reverse=True)
