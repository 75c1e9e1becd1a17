"""Drawing shapes over an image with Pillow, into a PNG (REST) or a JPEG within a byte
budget (MCP: what an agent's context can take).

The picture is scaled so its longest side is at most ``max_side`` pixels (shapes are
scaled with it), outlines and labels are sized to the picture, and colours cycle so
neighbouring findings stay apart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from app.rendering.shapes import Shape

DEFAULT_MAX_SIDE = 1600
_COLOURS = ((255, 48, 48), (40, 200, 64), (40, 120, 255), (255, 170, 0), (200, 60, 220))


def render_png(
    image: Image.Image, shapes: Sequence[Shape], *, max_side: int = DEFAULT_MAX_SIDE
) -> bytes:
    """``image`` with every shape outlined and labelled, as PNG bytes."""
    out = io.BytesIO()
    draw_shapes(image, shapes, max_side=max_side).save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def render_jpeg(
    image: Image.Image, shapes: Sequence[Shape], *, max_side: int, max_bytes: int
) -> bytes:
    """The same drawing as a JPEG of at most ``max_bytes`` (what an agent's context pays
    for): lower quality first, then a smaller picture, until it fits."""
    canvas = draw_shapes(image, shapes, max_side=max_side)
    while True:
        for quality in _JPEG_QUALITIES:
            out = io.BytesIO()
            canvas.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        if max(canvas.size) <= _MIN_SIDE:
            return out.getvalue()  # as small as a readable drawing gets
        size = (max(1, round(canvas.width * 0.7)), max(1, round(canvas.height * 0.7)))
        canvas = canvas.resize(size, Image.Resampling.LANCZOS)


_JPEG_QUALITIES = (85, 70, 55)
_MIN_SIDE = 160


def draw_shapes(
    image: Image.Image, shapes: Sequence[Shape], *, max_side: int = DEFAULT_MAX_SIDE
) -> Image.Image:
    """``image`` (RGB, longest side at most ``max_side``) with every shape drawn."""
    canvas = image.convert("RGB")
    scale = min(1.0, max_side / max(canvas.size))
    if scale < 1.0:
        size = (max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale)))
        canvas = canvas.resize(size, Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(max(canvas.size) / 400))
    font = ImageFont.load_default(size=max(10, round(max(canvas.size) / 60)))
    for index, shape in enumerate(shapes):
        colour = _COLOURS[index % len(_COLOURS)]
        points = [(x * scale, y * scale) for x, y in shape.points]
        draw.polygon(points, outline=colour, width=line)
        if shape.label:
            _label(draw, font, shape.label, points, colour)
    return canvas


def _label(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    text: str,
    points: Sequence[tuple[float, float]],
    colour: tuple[int, int, int],
) -> None:
    """The label on a filled tab just above the shape (inside the picture at the top edge)."""
    left = min(x for x, _ in points)
    top = min(y for _, y in points)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    width, height = x1 - x0 + 4, y1 - y0 + 4
    y = top - height if top - height >= 0 else top
    draw.rectangle((left, y, left + width, y + height), fill=colour)
    draw.text((left + 2 - x0, y + 2 - y0), text, fill=(255, 255, 255), font=font)
