"""The plugin class: metadata, execution preferences, hooks and two tools."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageOps

from app.plugins.base import InvalidInput, Plugin, ToolContext, tool
from app.plugins.images import load_image
from visor_thumbnail.models import HistogramInput, HistogramOutput, ThumbnailInput, ThumbnailOutput

_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


class ThumbnailPlugin(Plugin):
    name = "thumbnail"  # unique across the server; letters, digits, _ and -
    version = "0.1.0"
    description = "Makes thumbnails and grayscale histograms of images (Pillow + NumPy)."
    # Execution preferences (operators can override them in Visor's settings). Tools run
    # in supervised worker processes; only the operator can choose in-process.
    workers = 1  # at most one worker process (default: one per CPU)
    timeout_s = 10.0

    def startup(self) -> None:
        """Runs once per worker before the first call: load models here, not at import.

        This plugin has no model; it builds the luminance weights once to show the hook.
        """
        self._luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)

    @tool(default=True, description="Shrink an image so its longest side is max_side.")
    def thumbnail(self, args: ThumbnailInput, ctx: ToolContext) -> ThumbnailOutput:
        image = load_image(args)  # safe decode: bad files become a ValidationError
        original = image.size
        image = ImageOps.exif_transpose(image)
        ctx.progress(0.5, "decoded")  # optional; shown on jobs and MCP progress
        if args.format == "jpeg":
            image = image.convert("RGB")
        elif image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        image.thumbnail((args.max_side, args.max_side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, args.format.upper())
        return ThumbnailOutput(
            image=base64.b64encode(buffer.getvalue()).decode("ascii"),
            mime_type=_MIME[args.format],
            width=image.width,
            height=image.height,
            original_width=original[0],
            original_height=original[1],
        )

    @tool(description="Histogram of the image's luminance in equal-width bins.")
    def histogram(self, args: HistogramInput) -> HistogramOutput:
        image = load_image(args)
        if image.width * image.height > 40_000_000:
            raise InvalidInput("image too large for a histogram", details={"field": "image"})
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        luma = rgb @ self._luma
        counts, edges = np.histogram(luma, bins=args.bins, range=(0.0, 256.0))
        return HistogramOutput(
            counts=[int(c) for c in counts],
            edges=[round(float(e), 4) for e in edges],
            mean=round(float(luma.mean()), 4),
            pixels=int(luma.size),
        )
