"""Page preparation before Tesseract: even out the lighting, turn the page upright.

Tesseract binarises with one global Otsu threshold. On a page with a shadow or a lit
centre that threshold is wrong for part of the page, and that part comes back empty or
as noise, with high confidence. Dividing the page by an estimate of its background (the
page without the ink: a grey-level closing, which removes dark strokes thinner than the
kernel) makes the paper uniformly white and leaves the ink dark, so one threshold fits
again. It is cheap (a few milliseconds on a downscaled copy) and changes nothing on an
evenly lit page, but is only applied when the background actually varies.
"""

from __future__ import annotations

import numpy as np

#: Background spread (grey levels between its 2nd and 98th percentile) above which a page
#: counts as unevenly lit. Scans and renders on white sit below 10; a shadow is > 40.
UNEVEN_SPREAD = 28.0
_WORK_SIDE = 600  # the background is estimated on a copy of at most this many pixels wide


def background(gray: np.ndarray) -> np.ndarray:
    """The page without its ink, at full size: a closing on a downscaled copy, smoothed."""
    import cv2

    height, width = gray.shape
    scale = min(1.0, _WORK_SIDE / max(height, width))
    small = gray
    if scale < 1.0:
        small = cv2.resize(
            gray,
            (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        )
    side = max(3, (min(small.shape) // 30) | 1)  # wider than a stroke, narrower than a shadow
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    closed = cv2.medianBlur(closed, side if side <= 255 else 255)
    return cv2.resize(closed, (width, height), interpolation=cv2.INTER_LINEAR)


def spread(bg: np.ndarray) -> float:
    low, high = np.percentile(bg, (2, 98))
    return float(high - low)


def normalize(gray: np.ndarray, bg: np.ndarray | None = None) -> np.ndarray:
    """``gray`` divided by its background: white paper, dark ink, whatever the lighting."""
    bg = background(gray) if bg is None else bg
    ratio = gray.astype(np.float32) / np.maximum(bg.astype(np.float32), 1.0)
    return np.clip(ratio * 255.0, 0, 255).astype(np.uint8)


def even_out(gray: np.ndarray, mode: str) -> tuple[np.ndarray, bool]:
    """Apply :func:`normalize` per ``mode`` (auto, normalize, keep); says whether it did."""
    if mode == "keep":
        return gray, False
    bg = background(gray)
    if mode == "auto" and spread(bg) < UNEVEN_SPREAD:
        return gray, False
    return normalize(gray, bg), True
