"""Regenerate the sample images (run from the repository root, in the dev venv).

    .venv/bin/python samples/make_samples.py

face.jpg comes from scikit-image's ``astronaut`` (NASA, public domain); qr.png is
generated with zxing-cpp; page.png is text rendered with Pillow's bundled font.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont
from skimage import data

HERE = Path(__file__).resolve().parent

PAGE_LINES = [
    "Visor runs vision tools",
    "through one governed path.",
    "Every call is validated,",
    "isolated, timed and counted.",
]


def face() -> None:
    photo = Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.LANCZOS)
    photo.save(HERE / "face.jpg", "JPEG", quality=85, optimize=True)


def qr() -> None:
    matrix = zxingcpp.create_barcode("https://example.org/visor", zxingcpp.BarcodeFormat.QRCode)
    pixels = np.asarray(matrix.to_image(scale=6, add_quiet_zones=True))
    Image.fromarray(pixels).convert("1").save(HERE / "qr.png", optimize=True)


def page() -> None:
    font = ImageFont.load_default(size=28)
    image = Image.new("L", (640, 260), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(PAGE_LINES):
        draw.text((40, 40 + i * 48), line, fill=0, font=font)
    image.save(HERE / "page.png", optimize=True)


if __name__ == "__main__":
    face()
    qr()
    page()
