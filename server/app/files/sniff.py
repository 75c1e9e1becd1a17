"""Recognising a video container from its first bytes (uploads, before anything decodes it)."""

from __future__ import annotations

_EBML = b"\x1a\x45\xdf\xa3"
#: Top-level atoms a QuickTime/MP4 file may start with (``ftyp`` for every modern one).
_MP4_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")

#: The container types Visor accepts as videos (the ``mime_type`` of an uploaded video).
VIDEO_MIME_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska")


def sniff_video_type(head: bytes) -> str | None:
    """``video/mp4``, ``video/quicktime``, ``video/webm``, ``video/x-matroska`` or None."""
    if head.startswith(_EBML):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if len(head) >= 12 and head[4:8] in _MP4_ATOMS:
        if head[4:8] == b"ftyp" and head[8:12] != b"qt  ":
            return "video/mp4"
        return "video/quicktime"
    return None


def is_video_type(mime_type: str | None) -> bool:
    return mime_type is not None and mime_type.startswith("video/")
