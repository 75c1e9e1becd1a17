"""Paging cursors shared by every store that pages by (creation time, id): opaque to
clients, stable under inserts, the same shape for jobs and files."""

from __future__ import annotations

import base64
import binascii

from app.errors import ErrorCode, VisorError


def encode_cursor(created_us: int, row_id: str) -> str:
    """The cursor of the page that starts after the row ``(created_us, row_id)``."""
    return base64.urlsafe_b64encode(f"{created_us}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(created_us, row_id)`` from a cursor; ``invalid_input`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split(":", 1)
        return int(created), row_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise VisorError("invalid cursor", code=ErrorCode.INVALID_INPUT) from exc
