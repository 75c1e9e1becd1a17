"""Pedestrian detection with OpenCV's HOG descriptor and its built-in linear SVMs.

Both SVMs ship inside OpenCV (no file, no download): Dalal and Triggs' 64x128 window
(``default``: people at least ~100 px tall) and the Daimler 48x96 window (``daimler``:
smaller people, more false hits). ``detectMultiScale`` returns many overlapping windows
per person; they are merged by non-maximum suppression (``cv2.dnn.NMSBoxes``) so each
person is reported once, with the window's margin removed so the box fits the body.
The image arrives downscaled to ``max_side`` (the detector base) and is enlarged by
``upscale`` here; boxes are mapped back by the base. One OpenCV thread per worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.plugins.builtin.detection.base import Backend, Found, best_first

#: Window size of each model; the smallest person a model finds at scale 1.
WINDOWS: dict[str, tuple[int, int]] = {"default": (64, 128), "daimler": (48, 96)}


#: Share of a detection window the person fills: both models are trained on windows with
#: a margin around the body (a 64x128 window holds a person ~96 px tall, ~32-40 px wide).
BODY_WIDTH, BODY_HEIGHT = 0.5, 0.8


def _body(window: list[int]) -> tuple[float, float, float, float]:
    """The person's own box inside a detection window (centred, margins removed): x1..y2."""
    x, y, w, h = window
    left, top = x + w * (1 - BODY_WIDTH) / 2, y + h * (1 - BODY_HEIGHT) / 2
    return left, top, left + w * BODY_WIDTH, top + h * BODY_HEIGHT


def _svm(weights: Any) -> np.ndarray:
    return np.asarray(weights, dtype=np.float32)


@dataclass(frozen=True)
class HogOptions:
    model: str = "default"
    upscale: float = 1.5
    scale_factor: float = 1.05
    stride: int = 8
    min_score: float = 1.0
    overlap: float = 0.45


class Hog(Backend):
    def __init__(self) -> None:
        self._hogs: dict[str, tuple[Any, threading.Lock]] = {}
        self._guard = threading.Lock()

    def load(self) -> None:
        cv2.setNumThreads(1)
        self._hog("default")

    def _hog(self, model: str) -> tuple[Any, threading.Lock]:
        with self._guard:
            entry = self._hogs.get(model)
            if entry is None:
                if model == "daimler":
                    hog = cv2.HOGDescriptor((48, 96), (16, 16), (8, 8), (8, 8), 9)
                    hog.setSVMDetector(_svm(cv2.HOGDescriptor.getDaimlerPeopleDetector()))
                else:
                    hog = cv2.HOGDescriptor()
                    hog.setSVMDetector(_svm(cv2.HOGDescriptor.getDefaultPeopleDetector()))
                entry = (hog, threading.Lock())
                self._hogs[model] = entry
            return entry

    def detect(self, rgb: np.ndarray, options: HogOptions, scale: float = 1.0) -> list[Found]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        height, width = gray.shape[:2]
        ratio = options.upscale
        work = gray
        if ratio != 1.0:
            size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
            work = cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
        win_w, win_h = WINDOWS[options.model]
        if work.shape[0] < win_h or work.shape[1] < win_w:
            return []  # smaller than one detection window: nobody fits
        hog, lock = self._hog(options.model)
        with lock:
            rects, weights = hog.detectMultiScale(
                work,
                hitThreshold=0.0,
                winStride=(options.stride, options.stride),
                padding=(8, 8),
                scale=options.scale_factor,
                groupThreshold=0,  # raw windows: NMS below is the one merging step
            )
        boxes = [[int(v) for v in r] for r in np.asarray(rects).reshape(-1, 4)]
        scores = [float(w) for w in np.asarray(weights, dtype=np.float64).reshape(-1)]
        if not boxes:
            return []
        keep = cv2.dnn.NMSBoxes(boxes, scores, options.min_score, options.overlap)
        found = []
        for index in np.asarray(keep, dtype=np.int64).reshape(-1):
            x1, y1, x2, y2 = (v / ratio for v in _body(boxes[index]))
            box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            found.append(Found(box=box, score=round(scores[index], 3), label="person"))
        return best_first(found)
