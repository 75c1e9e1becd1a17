"""Haar-cascade face detection with OpenCV, one loaded classifier per cascade per worker.

``CascadeClassifier.detectMultiScale`` is not documented as thread-safe, so each
classifier is used under a lock; parallelism comes from worker processes. OpenCV's own
thread pool is limited to one thread for the same reason Tesseract's is: several workers
on a small machine each spawning a thread per core just fight over the cores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.plugins.builtin.faces.cascades import CASCADES


@dataclass(frozen=True)
class Detection:
    x: int
    y: int
    width: int
    height: int
    score: float


class FaceDetector:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cv2: Any = None
        self._classifiers: dict[str, tuple[Any, threading.Lock]] = {}
        self._guard = threading.Lock()

    def start(self, preload: str = "frontal") -> None:
        import cv2

        cv2.setNumThreads(1)
        self._cv2 = cv2
        self._classifier(preload)

    @property
    def started(self) -> bool:
        return self._cv2 is not None

    def _classifier(self, model: str) -> tuple[Any, threading.Lock]:
        with self._guard:
            entry = self._classifiers.get(model)
            if entry is None:
                classifier = self._cv2.CascadeClassifier(str(self._directory / CASCADES[model]))
                if classifier.empty():
                    raise RuntimeError(f"cascade {CASCADES[model]} failed to load")
                entry = (classifier, threading.Lock())
                self._classifiers[model] = entry
            return entry

    def detect(
        self,
        gray: np.ndarray,
        *,
        model: str,
        scale_factor: float,
        min_neighbors: int,
        min_size: int,
        max_size: int | None,
        max_side: int,
        min_score: float = 0.0,
    ) -> list[Detection]:
        cv2 = self._cv2
        height, width = gray.shape[:2]
        ratio = min(1.0, max_side / max(height, width))
        small = gray
        if ratio < 1.0:
            size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        smallest = max(8, round(min_size * ratio))
        largest = round(max_size * ratio) if max_size else 0
        classifier, lock = self._classifier(model)
        with lock:
            boxes, _levels, weights = classifier.detectMultiScale3(
                small,
                scaleFactor=scale_factor,
                minNeighbors=min_neighbors,
                minSize=(smallest, smallest),
                maxSize=(largest, largest) if largest else (0, 0),
                outputRejectLevels=True,
            )
        found = [
            Detection(
                x=round(x / ratio),
                y=round(y / ratio),
                width=round(w / ratio),
                height=round(h / ratio),
                score=round(float(score), 3),
            )
            for (x, y, w, h), score in zip(
                np.asarray(boxes).reshape(-1, 4), _flat(weights), strict=True
            )
            if score >= min_score
        ]
        return sorted(found, key=lambda d: d.score, reverse=True)


def _flat(weights: Any) -> list[float]:
    return [float(v) for v in np.asarray(weights, dtype=np.float64).reshape(-1)]
