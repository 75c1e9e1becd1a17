"""Sizes in the units people read: every limit error names its value this way (and its
setting), so ``26214400`` reaches a user as ``25 MiB (VISOR_MAX_IMAGE_BYTES)``."""

from __future__ import annotations

_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_bytes(count: int | float) -> str:
    """``26214400`` → ``25 MiB``; ``1536`` → ``1.5 KiB``; ``900`` → ``900 bytes``."""
    value = float(count)
    if abs(value) < 1024:
        return f"{int(value)} bytes" if value != 1 else "1 byte"
    for unit in _BYTE_UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == _BYTE_UNITS[-1]:
            break
    return f"{_short(value)} {unit}"


def megapixels(count: int | float) -> str:
    """``50_000_000`` → ``50 megapixels``; ``178_956_970`` → ``179 megapixels``."""
    value = float(count) / 1_000_000
    return f"{_short(value)} megapixels"


def limit_text(value: str, setting: str) -> str:
    """How a message names a limit: ``the limit is 25 MiB (VISOR_MAX_IMAGE_BYTES)``."""
    return f"the limit is {value} ({setting})"


def _short(value: float) -> str:
    """Three significant figures at most, no trailing zeros: 25, 1.5, 179, 0.25."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.2g}"
