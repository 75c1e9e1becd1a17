"""Safe image decoding for tools: base64 + mime type in, a fully loaded Pillow image out.

Every failure a caller can cause (bad base64, unsupported type, truncated or hostile file,
decompression bomb) becomes :class:`~app.plugins.base.InvalidInput`, i.e. a
``ValidationError/invalid_input`` envelope, never a crash.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from app.plugins import frames
from app.plugins.base import InvalidInput
from app.plugins.base64_text import decode_base64_text
from app.units import human_bytes, limit_text, megapixels

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
#: The pixel count in Pillow's DecompressionBomb message ("Image size (N pixels) exceeds ...").
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")


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


#: Magic numbers of the formats above (WEBP is RIFF....WEBP, checked separately).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
#: Other things people send instead of an image, so the error can say what it was.
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"<svg", "an SVG drawing (not supported: send a PNG)"),
    (b"<?xml", "XML text"),
)
#: Mime types that declare nothing: the bytes decide.
_UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}


def sniff_mime_type(data: bytes) -> str | None:
    """The image type the first bytes show, or None when they are not a supported image."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


def describe_bytes(data: bytes) -> str:
    """A short human description of bytes that are not an image ("text", "a PDF document")."""
    head = data[:512]
    if head[4:8] == b"ftyp":
        return "an HEIC, AVIF or MP4 file (not supported: send JPEG or PNG)"
    for magic, what in _NOT_IMAGES:
        if head.lstrip().startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of no image format Visor reads"
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        return "an HTML page"
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if printable >= 0.95 * max(1, len(text)):
        return "text"
    return "binary data of no image format Visor reads"


def normalise_mime_type(mime_type: object) -> str | None:
    """A declared type in canonical form; None when nothing (useful) was declared."""
    if mime_type is None:
        return None
    if not isinstance(mime_type, str):
        raise InvalidInput(
            f"mime_type must be a string, not {type(mime_type).__name__}",
            details={"field": "mime_type"},
        )
    normalised = mime_type.split(";", 1)[0].strip().lower()
    if normalised in _UNDECLARED:
        return None
    return _ALIASES.get(normalised, normalised)


def image_mime_type(data: bytes, declared: object = None) -> str:
    """The mime type of image bytes, checked against what the caller declared.

    Says what is actually wrong: not an image at all (and what it looks like), a type
    Visor does not read, or bytes of one type declared as another.
    """
    if not data:
        raise InvalidInput("image is empty", details={"field": "image"})
    sniffed = sniff_mime_type(data)
    if sniffed is None:
        raise InvalidInput(
            f"image is not an image file: the bytes look like {describe_bytes(data)}",
            details={"field": "image", "looks_like": describe_bytes(data)},
        )
    claimed = normalise_mime_type(declared)
    if claimed is not None and claimed not in SUPPORTED_MIME_TYPES:
        raise InvalidInput(
            f"unsupported mime type {declared!r}; supported: "
            + ", ".join(sorted(set(SUPPORTED_MIME_TYPES) - set(_ALIASES))),
            details={"field": "mime_type", "supported": sorted(SUPPORTED_MIME_TYPES)},
        )
    if claimed is not None and _ALIASES.get(claimed, claimed) != sniffed:
        raise InvalidInput(
            f"the image bytes look like {sniffed} but mime_type says {claimed}",
            details={"field": "mime_type", "declared": claimed, "detected": sniffed},
        )
    return sniffed


def decode_base64(data: str) -> bytes:
    """Base64 text (plain, wrapped, ``data:`` URL) to bytes; see :mod:`app.plugins.base64_text`."""
    return decode_base64_text(data, "image")[0]


def check_mime_type(mime_type: str) -> str:
    """A declared mime type Visor can decode (canonical form)."""
    normalised = normalise_mime_type(mime_type)
    if normalised is None or normalised not in SUPPORTED_MIME_TYPES:
        raise InvalidInput(
            f"unsupported mime type {mime_type!r}",
            details={"field": "mime_type", "supported": sorted(SUPPORTED_MIME_TYPES)},
        )
    return normalised


def _bomb(exc: Exception, limits: ImageLimits) -> InvalidInput:
    """Pillow's own guard fired before Visor's pixel check could (its header claims far more
    pixels than Pillow allows): say how many, and which setting is the limit."""
    claimed = _PILLOW_PIXELS.search(str(exc))
    pixels = int(claimed.group(1)) if claimed else None
    size = f" of {megapixels(pixels)}" if pixels is not None else ""
    return InvalidInput(
        f"image declares a size{size} that looks like a decompression bomb; "
        f"{limit_text(megapixels(limits.max_pixels), 'VISOR_MAX_IMAGE_PIXELS')}",
        details={
            "field": "image",
            "pixels": pixels,
            "limit_pixels": limits.max_pixels,
            "setting": "VISOR_MAX_IMAGE_PIXELS",
        },
    )


def open_image(data: bytes, *, limits: ImageLimits | None = None) -> Image.Image:
    """Decode image bytes fully, refusing oversized, truncated and bomb images."""
    limits = limits or ImageLimits.from_env()
    if not data:
        raise InvalidInput("image is empty", details={"field": "image"})
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"image is {human_bytes(len(data))}; "
            f"{limit_text(human_bytes(limits.max_bytes), 'VISOR_MAX_IMAGE_BYTES')}",
            details={
                "field": "image",
                "size_bytes": len(data),
                "limit_bytes": limits.max_bytes,
                "setting": "VISOR_MAX_IMAGE_BYTES",
            },
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
                    f"image is {width}x{height} pixels ({megapixels(width * height)}); "
                    f"{limit_text(megapixels(limits.max_pixels), 'VISOR_MAX_IMAGE_PIXELS')}",
                    details={
                        "field": "image",
                        "pixels": width * height,
                        "limit_pixels": limits.max_pixels,
                        "setting": "VISOR_MAX_IMAGE_PIXELS",
                    },
                )
            if image.format not in _ALLOWED_FORMATS:
                raise InvalidInput(
                    f"image format {image.format!r} is not supported", details={"field": "image"}
                )
            image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(exc, limits) from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput("image could not be decoded", details={"field": "image"}) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidInput(
            f"image is truncated or corrupt: {exc}", details={"field": "image"}
        ) from exc
    return image


def load_image(args: Any, *, limits: ImageLimits | None = None) -> Image.Image:
    """Decode the ``image``/``mime_type`` of a tool's arguments (a model or a dict).

    The bytes come first: a missing ``mime_type`` is read from them, a declared one must
    agree with them.
    """
    image_b64 = args["image"] if isinstance(args, dict) else args.image
    pixels = frames.lookup(image_b64)
    if pixels is not None:  # a decoded video frame handed over with the call
        limits = limits or ImageLimits.from_env()
        if pixels.width * pixels.height > limits.max_pixels:
            raise InvalidInput(
                f"image is {pixels.width}x{pixels.height} pixels; the limit is "
                f"{limits.max_pixels} pixels",
                details={"field": "image", "limit_pixels": limits.max_pixels},
            )
        return pixels.image()
    mime_type = args.get("mime_type") if isinstance(args, dict) else args.mime_type
    data = decode_base64(image_b64)
    image_mime_type(data, mime_type)
    return open_image(data, limits=limits)
