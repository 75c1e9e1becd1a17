"""One detector base for the detector plugins (faces, people, objects).

A plugin offers several detectors behind one ``detector`` argument (a learned default and
the classic ones kept as options). Each is a :class:`Backend`: it loads once per worker and
finds things in an RGB array. :class:`Detectors` owns a plugin's backends: it loads the
default in the plugin's startup hook (models stay loaded between calls), loads the others
on first use, and runs every call the same way: downscale a large image to ``max_side``,
detect on the copy, map what was found back onto the input's pixels. That last step is
written here once, for every backend, instead of once per plugin.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from app.plugins.vocabulary import Keypoint


@dataclass(frozen=True)
class Found:
    """One thing a backend found, in pixels of the array it was given.

    ``score`` is the backend's own score (a probability for learned models, a margin for
    Haar and HOG); ``points`` are ``(name, x, y, score)``.
    """

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    label: str | None = None
    points: tuple[tuple[str, float, float, float], ...] = ()

    @property
    def side(self) -> float:
        """The box's longer side, for size filters."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def scaled(self, factor: float, width: int, height: int) -> Found:
        """Coordinates divided by ``factor`` and clipped to a ``width`` x ``height`` image."""
        x1, y1, x2, y2 = (v / factor for v in self.box)
        box = (
            min(max(x1, 0.0), width),
            min(max(y1, 0.0), height),
            min(max(x2, 0.0), width),
            min(max(y2, 0.0), height),
        )
        points = tuple(
            (name, min(max(x / factor, 0.0), width), min(max(y / factor, 0.0), height), s)
            for name, x, y, s in self.points
        )
        return replace(self, box=box, points=points)

    def xywh(self) -> tuple[int, int, int, int]:
        """The vocabulary's ``[x, y, width, height]`` box, in whole pixels."""
        left, top = round(self.box[0]), round(self.box[1])
        return left, top, round(self.box[2]) - left, round(self.box[3]) - top

    def keypoints(self) -> list[Keypoint]:
        return [
            Keypoint(name=name, point=(round(x), round(y)), confidence=_unit(score))
            for name, x, y, score in self.points
        ]


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)


class Backend(ABC):
    """One detector. ``load`` runs once per worker; ``detect`` may run on several threads
    at once (in-process mode), so a backend whose engine is not thread-safe locks."""

    @abstractmethod
    def load(self) -> None:
        """Load the model (open sessions, build classifiers)."""

    @abstractmethod
    def detect(self, rgb: np.ndarray, options: Any, scale: float) -> list[Found]:
        """Things found in ``rgb`` (H, W, 3 uint8), in its pixels, best first.

        ``rgb`` is the caller's image shrunk by ``scale`` (<= 1): sizes the caller gave in
        its own pixels (a smallest face, say) are multiplied by it.
        """


def downscaled(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` shrunk so its longer side is at most ``max_side``, and the factor applied."""
    height, width = rgb.shape[:2]
    ratio = min(1.0, max_side / max(height, width))
    if ratio >= 1.0:
        return rgb, 1.0
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), ratio


class Detectors:
    """A plugin's detectors by name: loaded once per worker, kept between calls."""

    def __init__(self, factories: Mapping[str, Callable[[], Backend]], preload: Sequence[str]):
        unknown = set(preload) - set(factories)
        if unknown:
            raise ValueError(f"preload names unknown detectors: {sorted(unknown)}")
        self._factories = dict(factories)
        self._preload = tuple(preload)
        self._loaded: dict[str, Backend] = {}
        self._guard = threading.Lock()
        self._started = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """The plugin's startup hook: load the default detector(s) before the first call."""
        for name in self._preload:
            self.backend(name)
        self._started = True

    def backend(self, name: str) -> Backend:
        """The loaded backend ``name``; loads it on first use (once, under a lock)."""
        with self._guard:
            backend = self._loaded.get(name)
            if backend is None:
                backend = self._factories[name]()
                backend.load()
                self._loaded[name] = backend
            return backend

    def detect(self, name: str, rgb: np.ndarray, *, max_side: int, options: Any) -> list[Found]:
        """Downscale to ``max_side``, detect with ``name``, map back to ``rgb``'s pixels."""
        height, width = rgb.shape[:2]
        small, ratio = downscaled(rgb, max_side)
        found = self.backend(name).detect(small, options, ratio)
        if ratio == 1.0:
            return found
        return [f.scaled(ratio, width, height) for f in found]


def best_first(found: Iterable[Found]) -> list[Found]:
    return sorted(found, key=lambda f: f.score, reverse=True)
