"""Decoded pixels handed to a tool out of band: a video frame without a JPEG round trip.

A video job's frames are already decoded; re-encoding each to JPEG, sending the bytes as
base64 and decoding them again in the worker cost more than many tools' own work. For a
tool that declares ``@tool(pixels=True)`` (it reads its image with
:func:`~app.plugins.images.load_image`), the job instead sends the frame's RGB bytes with
the call (:class:`Pixels`, one pickled buffer through the worker's pipe) and puts a
*reference* in the payload's ``image``: a valid 1x1 PNG naming the frame, so every check
ToolRunner and the input resolver make still holds. In the worker (or the in-process
executor) the call's attachments are made current around the tool, and ``load_image``
answers a reference with the attached pixels.

Attachments come only from the server's own call context (a Python object, never JSON), so
a client cannot attach anything: a reference a client sends itself is just the 1x1 PNG it is.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

#: The PNG text key that names a frame in a reference.
_KEY = "visor-frame"


@dataclass(frozen=True)
class Pixels:
    """8-bit RGB pixels, row by row (``width * height * 3`` bytes)."""

    width: int
    height: int
    data: bytes

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or len(self.data) != self.width * self.height * 3:
            raise ValueError("pixels do not match their size")

    def image(self) -> Image.Image:
        """A Pillow image over the bytes (no copy)."""
        return Image.frombuffer("RGB", (self.width, self.height), self.data, "raw", "RGB", 0, 1)


Attachments = Mapping[str, Pixels]

_current: ContextVar[Attachments | None] = ContextVar("visor_attached_pixels", default=None)


def reference(name: str) -> str:
    """The base64 text of a 1x1 PNG naming ``name``: what a payload's ``image`` holds."""
    info = PngImagePlugin.PngInfo()
    info.add_text(_KEY, name)
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG", pnginfo=info)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@contextlib.contextmanager
def attached(attachments: Attachments | None) -> Iterator[None]:
    """Make ``attachments`` (reference text → pixels) the current call's, for the block."""
    if not attachments:
        yield
        return
    token = _current.set(attachments)
    try:
        yield
    finally:
        _current.reset(token)


def lookup(image_text: object) -> Pixels | None:
    """The pixels attached for this ``image`` text in the current call, if any."""
    attachments = _current.get()
    if attachments is None or not isinstance(image_text, str):
        return None
    return attachments.get(image_text)
