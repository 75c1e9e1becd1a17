"""Safe image decoding for tools: base64 + mime type in, a fully loaded Pillow image out.

Every failure a caller can cause (bad base64, unsupported type, truncated or hostile file,
decompression bomb) becomes :class:`~app.plugins.base.InvalidInput`, i.e. a
``ValidationError/invalid_input`` envelope, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from app.plugins.base import InvalidInput

SUPPORTED_MIME_TYPES: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
_ALLOWED_FORMATS = set(SUPPORTED_MIME_TYPES.values()) | {"MPO"}  # MPO: multi-picture JPEG

#: Defaults; operators tune them with VISOR_MAX_IMAGE_PIXELS / VISOR_MAX_IMAGE_BYTES,
#: which worker processes inherit through their environment.
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> ImageLimits:
        return cls(
            max_pixels=int(os.environ.get("VISOR_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS)),
            max_bytes=int(os.environ.get("VISOR_MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES)),
        )


def decode_base64(data: str) -> bytes:
    if not isinstance(data, str) or not data:
        raise InvalidInput("image must be a non-empty base64 string", details={"field": "image"})
    if data.startswith("data:") and "," in data:  # tolerate data URLs
        data = data.split(",", 1)[1]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("image is not valid base64", details={"field": "image"}) from exc


def check_mime_type(mime_type: str) -> str:
    normalised = (mime_type or "").split(";", 1)[0].strip().lower()
    if normalised not in SUPPORTED_MIME_TYPES:
        raise InvalidInput(
            f"unsupported mime type {mime_type!r}",
            details={"field": "mime_type", "supported": sorted(SUPPORTED_MIME_TYPES)},
        )
    return normalised


def open_image(data: bytes, *, limits: ImageLimits | None = None) -> Image.Image:
    """Decode image bytes fully, refusing oversized, truncated and bomb images."""
    limits = limits or ImageLimits.from_env()
    if not data:
        raise InvalidInput("image is empty", details={"field": "image"})
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"image is {len(data)} bytes; the limit is {limits.max_bytes}",
            details={"field": "image", "limit_bytes": limits.max_bytes},
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidInput("image has zero size", details={"field": "image"})
            if width * height > limits.max_pixels:
                raise InvalidInput(
                    f"image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels",
                    details={"field": "image", "limit_pixels": limits.max_pixels},
                )
            if image.format not in _ALLOWED_FORMATS:
                raise InvalidInput(
                    f"image format {image.format!r} is not supported", details={"field": "image"}
                )
            image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(
            "image looks like a decompression bomb", details={"field": "image"}
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput("image could not be decoded", details={"field": "image"}) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidInput(
            f"image is truncated or corrupt: {exc}", details={"field": "image"}
        ) from exc
    return image


def load_image(args: Any, *, limits: ImageLimits | None = None) -> Image.Image:
    """Decode the ``image``/``mime_type`` of a tool's arguments (a model or a dict)."""
    image_b64 = args["image"] if isinstance(args, dict) else args.image
    mime_type = args.get("mime_type", "image/png") if isinstance(args, dict) else args.mime_type
    check_mime_type(mime_type)
    return open_image(decode_base64(image_b64), limits=limits)
