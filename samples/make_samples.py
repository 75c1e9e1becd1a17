"""Regenerate the sample images (run from the repository root, in the dev venv).

    .venv/bin/python samples/make_samples.py

face.jpg comes from scikit-image's ``astronaut`` (NASA, public domain); qr.png is
generated with zxing-cpp; page.png is text rendered with Pillow's bundled font; codes.mp4
is a 4-second H.264 clip of two QR codes, encoded with PyAV.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
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


#: What codes.mp4 shows: (text, from second, to second) at CLIP_FPS frames per second.
CLIP_CODES = [("VISOR-A", 0, 2), ("VISOR-B", 2, 4)]
CLIP_FPS = 5


def clip() -> None:
    codes = {}
    for text, _, _ in CLIP_CODES:
        matrix = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
        codes[text] = Image.fromarray(np.asarray(matrix.to_image(scale=5, add_quiet_zones=True)))
    with av.open(str(HERE / "codes.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, CLIP_FPS)
        for index in range(CLIP_CODES[-1][2] * CLIP_FPS):
            t_s = index / CLIP_FPS
            canvas = Image.new("RGB", (320, 240), (240, 240, 240))
            for text, start, end in CLIP_CODES:
                if start <= t_s < end:
                    canvas.paste(codes[text].convert("RGB"), (90, 50))
            frame = av.VideoFrame.from_image(canvas)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


if __name__ == "__main__":
    face()
    qr()
    page()
    clip()
