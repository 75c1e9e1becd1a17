"""The renderer services call: a tool's input image and valid result in, a PNG out."""

from __future__ import annotations

from typing import Any

from app.plugins.base import InvalidInput
from app.plugins.images import ImageLimits, decode_base64, open_image
from app.rendering.draw import DEFAULT_MAX_SIDE, render_jpeg, render_png
from app.rendering.shapes import find_shapes


class Renderer:
    """Draws findings over the image they were found in (docs/mcp.md, "Rendered output")."""

    def __init__(
        self, *, max_side: int = DEFAULT_MAX_SIDE, limits: ImageLimits | None = None
    ) -> None:
        self._max_side = max_side
        self._limits = limits

    def render(
        self, payload: dict[str, Any], result: dict[str, Any], *, max_bytes: int | None = None
    ) -> bytes:
        """PNG bytes, or with ``max_bytes`` a JPEG within that many; raises
        :class:`InvalidInput` when the call had no image to draw on."""
        image_b64 = payload.get("image")
        if not isinstance(image_b64, str):
            raise InvalidInput(
                "render needs a call with an image to draw on", details={"field": "render"}
            )
        limits = self._limits or ImageLimits.from_env()
        image = open_image(decode_base64(image_b64), limits=limits)
        shapes = find_shapes(result)
        if max_bytes is not None:
            return render_jpeg(image, shapes, max_side=self._max_side, max_bytes=max_bytes)
        return render_png(image, shapes, max_side=self._max_side)
