"""What a stream accepts as a frame: one binary JPEG or PNG message within the size limit.

Checked on arrival, before a frame may take the pending slot, so a bad message costs the
client one envelope and never displaces a good frame.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.errors import ErrorCode, VisorError


class FrameKind(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"


_SIGNATURES: tuple[tuple[bytes, FrameKind], ...] = (
    (b"\x89PNG\r\n\x1a\n", FrameKind.PNG),
    (b"\xff\xd8\xff", FrameKind.JPEG),
)


@dataclass(frozen=True)
class Frame:
    """One accepted frame: its number on this connection and its encoded bytes."""

    number: int
    data: bytes
    kind: FrameKind

    def payload(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tool payload: the connection's arguments plus this frame as the image."""
        return {
            **args,
            "image": base64.b64encode(self.data).decode("ascii"),
            "mime_type": self.kind.value,
        }


def accept_frame(number: int, message: Mapping[str, Any], max_bytes: int) -> Frame:
    """The frame in a received WebSocket message, or :class:`VisorError` saying why not."""
    data = message.get("bytes")
    if data is None:
        raise VisorError(
            "frames must be binary messages holding a JPEG or PNG image",
            code=ErrorCode.INVALID_INPUT,
            details={"frame": number, "reason": "not_binary"},
        )
    if len(data) > max_bytes:
        raise VisorError(
            f"frame of {len(data)} bytes exceeds the {max_bytes}-byte limit",
            code=ErrorCode.PAYLOAD_TOO_LARGE,
            details={"frame": number, "size": len(data), "limit": max_bytes},
        )
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return Frame(number, data, kind)
    raise VisorError(
        "frame is neither JPEG nor PNG",
        code=ErrorCode.INVALID_INPUT,
        details={"frame": number, "reason": "not_an_image"},
    )
