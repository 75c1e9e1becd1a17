"""Pillow image → the pixel arrays the vision engines want.

Transparent pixels are flattened onto white first: a PNG of black text on a transparent
background would otherwise become black on black once the alpha channel is dropped.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps


def flatten(image: Image.Image) -> Image.Image:
    """An RGB or L image in display orientation, with any transparency composited on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = float(array.max()) or 1.0
        return Image.fromarray((array * (255.0 / peak)).clip(0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def to_gray(image: Image.Image) -> np.ndarray:
    """8-bit grayscale array (H, W), C-contiguous."""
    return np.ascontiguousarray(np.asarray(flatten(image).convert("L"), dtype=np.uint8))


def to_rgb(image: Image.Image) -> np.ndarray:
    """8-bit RGB array (H, W, 3), C-contiguous."""
    return np.ascontiguousarray(np.asarray(flatten(image).convert("RGB"), dtype=np.uint8))


def to_bgr(image: Image.Image) -> np.ndarray:
    """8-bit BGR array (H, W, 3) in OpenCV's channel order."""
    return np.ascontiguousarray(to_rgb(image)[:, :, ::-1])
