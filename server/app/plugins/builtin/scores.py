"""Detector scores → the vocabulary's confidence in [0, 1].

Classic detectors (Haar cascades, HOG + linear SVM) give an unbounded margin, not a
probability. A logistic curve centred on the margin where hits start to be mostly true
(measured per detector, see docs/plugins.md) maps it into [0, 1] monotonically, so
sorting and thresholding by ``confidence`` mean the same thing as by the raw ``score``,
which the tools keep reporting beside it.
"""

from __future__ import annotations

import math


def logistic(score: float, *, midpoint: float, scale: float) -> float:
    """``1 / (1 + e^-((score - midpoint) / scale))``, rounded to 4 places."""
    z = (score - midpoint) / scale
    if z < -50:
        return 0.0
    return round(1.0 / (1.0 + math.exp(-z)), 4)
