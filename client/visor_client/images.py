"""Turn whatever image a caller holds into the request fields the server takes.

One function, :func:`image_fields`, decides for every method that takes an image:

* ``bytes`` / ``bytearray`` / ``memoryview``: the file's bytes (JPEG, PNG, ...), sent base64;
* a :class:`pathlib.Path`, or a ``str`` that is not a URL: a local file, read and sent;
* a ``str`` starting with ``http://`` or ``https://``: ``image_url`` (the server fetches it,
  when it allows URL inputs);
* a :class:`~visor_client.models.FileInfo` (from ``upload``): ``image_ref``;
* a PIL image, or a numpy array (uint8, ``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)``
  RGBA): encoded as PNG here (numpy needs Pillow; neither is a dependency of the client).

``image_ref=``, ``image_url=`` and ``image_path=`` (a path *on the server*, under its
``VISOR_INPUT_ROOTS``) may be passed by name instead.
"""

from __future__ import annotations

import base64
import io
from os import PathLike
from pathlib import Path
from typing import Any

from visor_client.models import FileInfo

#: What ``image`` may be (see the module docstring).
ImageInput = Any


def _png_from_pil(image: Any) -> bytes:
    """PNG, always: lossless, so a PIL image gets the answer its pixels get (re-saving a
    JPEG-born image as JPEG would change them)."""
    if image.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, ...: PNG has no such modes
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _png_from_array(array: Any) -> bytes:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the caller's environment
        raise TypeError("sending a numpy array needs Pillow: pip install pillow") from exc
    return _png_from_pil(Image.fromarray(array))


def image_bytes(image: ImageInput) -> tuple[bytes, str | None]:
    """The bytes of a local image and a file name for it (``None`` when it has none)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image), None
    if isinstance(image, str | PathLike):
        path = Path(image)
        return path.read_bytes(), path.name
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        return _png_from_pil(image), None
    if hasattr(image, "__array_interface__"):  # a numpy array
        return _png_from_array(image), None
    raise TypeError(
        f"cannot send {type(image).__name__} as an image: pass bytes, a path, a URL, "
        "a PIL image, a numpy array or a FileInfo"
    )


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def image_fields(
    image: ImageInput = None,
    *,
    image_ref: str | FileInfo | None = None,
    image_url: str | None = None,
    image_path: str | None = None,
) -> dict[str, Any]:
    """The request fields for one image: ``image`` (base64), ``image_ref``, ``image_url``
    or ``image_path``; ``{}`` when there is none (tools that take no image)."""
    given = [v for v in (image, image_ref, image_url, image_path) if v is not None]
    if len(given) > 1:
        raise TypeError("pass one image: image, image_ref, image_url or image_path")
    if isinstance(image, FileInfo):
        image_ref = image
    elif _is_url(image):
        image_url = image
    elif image is not None:
        data, _ = image_bytes(image)
        return {"image": base64.b64encode(data).decode("ascii")}
    if image_ref is not None:
        return {"image_ref": image_ref.id if isinstance(image_ref, FileInfo) else image_ref}
    if image_url is not None:
        return {"image_url": image_url}
    if image_path is not None:
        return {"image_path": str(image_path)}
    return {}
