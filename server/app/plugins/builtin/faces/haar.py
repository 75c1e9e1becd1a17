"""Haar-cascade face detection with OpenCV, one loaded classifier per cascade per worker.

``CascadeClassifier.detectMultiScale`` is not documented as thread-safe, so each
classifier is used under a lock; parallelism comes from worker processes. OpenCV's own
thread pool is limited to one thread for the same reason Tesseract's is: several workers
on a small machine each spawning a thread per core just fight over the cores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.plugins.builtin.detection.base import Backend, Found, best_first
from app.plugins.builtin.faces.cascades import CASCADES, cascade_dir


@dataclass(frozen=True)
class HaarOptions:
    model: str = "frontal"
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 30  # in the caller's pixels, as is max_size
    max_size: int | None = None
    min_score: float = 0.0


class Haar(Backend):
    def __init__(self) -> None:
        self._directory = cascade_dir()  # raises PluginUnavailable on OpenCV 5
        self._classifiers: dict[str, tuple[Any, threading.Lock]] = {}
        self._guard = threading.Lock()

    def load(self) -> None:
        cv2.setNumThreads(1)
        self._classifier("frontal")

    def _classifier(self, model: str) -> tuple[Any, threading.Lock]:
        with self._guard:
            entry = self._classifiers.get(model)
            if entry is None:
                classifier = cv2.CascadeClassifier(str(self._directory / CASCADES[model]))
                if classifier.empty():
                    raise RuntimeError(f"cascade {CASCADES[model]} failed to load")
                entry = (classifier, threading.Lock())
                self._classifiers[model] = entry
            return entry

    def detect(self, rgb: np.ndarray, options: HaarOptions, scale: float = 1.0) -> list[Found]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        smallest = max(8, round(options.min_size * scale))
        largest = round(options.max_size * scale) if options.max_size else 0
        classifier, lock = self._classifier(options.model)
        with lock:
            boxes, _levels, weights = classifier.detectMultiScale3(
                gray,
                scaleFactor=options.scale_factor,
                minNeighbors=options.min_neighbors,
                minSize=(smallest, smallest),
                maxSize=(largest, largest) if largest else (0, 0),
                outputRejectLevels=True,
            )
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)
        return best_first(
            Found(box=(float(x), float(y), float(x + w), float(y + h)), score=round(float(s), 3))
            for (x, y, w, h), s in zip(np.asarray(boxes).reshape(-1, 4), scores, strict=True)
            if s >= options.min_score
        )
