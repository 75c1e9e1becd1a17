"""Images the built-in plugin tests generate themselves: text, barcodes, shapes, bad files.

Text is drawn with the TrueType font bundled inside Pillow (``ImageFont.load_default``
with a size), so the tests need nothing beyond ``pip install``.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SENTENCES = (
    "The quick brown fox jumps over the lazy dog",
    "Visor reads printed text from images offline",
    "Seven wizards quietly judge boxing matches daily",
    "Invoice number 4821 was paid on March 12",
)


@dataclass(frozen=True)
class RenderedWord:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render_lines(
    lines: list[str], size: int, *, margin: int = 20, mode: str = "RGB"
) -> tuple[Image.Image, list[RenderedWord]]:
    """Black text on white (or on transparent for mode RGBA); returns each word's box."""
    face = font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    space = probe.textlength(" ", font=face)
    line_height = int(size * 1.8)
    width = int(max(probe.textlength(line, font=face) for line in lines)) + 2 * margin
    height = line_height * len(lines) + 2 * margin
    background = (0, 0, 0, 0) if mode == "RGBA" else "white"
    image = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(image)
    words: list[RenderedWord] = []
    for row, line in enumerate(lines):
        x = float(margin)
        y = margin + row * line_height
        for word in line.split():
            draw.text((x, y), word, font=face, fill=(0, 0, 0, 255) if mode == "RGBA" else "black")
            left, top, right, bottom = draw.textbbox((x, y), word, font=face)
            box = (int(left), int(top), int(right - left), int(bottom - top))
            words.append(RenderedWord(word, box))
            x += probe.textlength(word, font=face) + space
    return image, words


def normalise_words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9 ]", " ", text.lower()).split() if w]


def word_recall(expected: list[str], found: list[str]) -> float:
    """Share of expected words (as a multiset) that were recognised."""
    pool: dict[str, int] = {}
    for word in found:
        pool[word] = pool.get(word, 0) + 1
    hits = 0
    for word in expected:
        if pool.get(word, 0) > 0:
            pool[word] -= 1
            hits += 1
    return hits / len(expected) if expected else 1.0


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def box_tuple(box: list[int]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return x, y, w, h


def dark_bbox(array: np.ndarray, offset: tuple[int, int]) -> tuple[int, int, int, int]:
    """Bounding box of the dark pixels of ``array`` placed at ``offset``."""
    ys, xs = np.nonzero(array < 128)
    return (
        int(xs.min()) + offset[0],
        int(ys.min()) + offset[1],
        int(xs.max() - xs.min() + 1),
        int(ys.max() - ys.min() + 1),
    )


def shapes_image() -> Image.Image:
    """Plain geometry: circles, rectangles, a gradient — nothing face-like."""
    gradient = np.tile(np.linspace(40, 220, 640, dtype=np.uint8), (480, 1))
    image = Image.fromarray(gradient).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, 220, 220), fill=(200, 30, 30))
    draw.rectangle((300, 80, 560, 260), fill=(30, 30, 160))
    draw.ellipse((380, 300, 460, 380), fill=(240, 240, 240))
    draw.polygon([(80, 440), (200, 300), (260, 440)], fill=(20, 120, 40))
    return image


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


# -- hostile files --------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but carries one tiny data chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    whole = encode(Image.new("RGB", (200, 120), (10, 120, 200)))
    return whole[: len(whole) // 2]
