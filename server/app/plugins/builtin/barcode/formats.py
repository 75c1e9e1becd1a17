"""Barcode format names callers may ask for, checked against the installed zxing-cpp."""

from __future__ import annotations

from typing import Any

import zxingcpp

from app.plugins.base import InvalidInput

#: Names as zxing-cpp spells its ``BarcodeFormat`` members; groups first.
_CURATED = (
    "LinearCodes",
    "MatrixCodes",
    "QRCode",
    "MicroQRCode",
    "RMQRCode",
    "DataMatrix",
    "Aztec",
    "PDF417",
    "MaxiCode",
    "EAN13",
    "EAN8",
    "UPCA",
    "UPCE",
    "Code128",
    "Code39",
    "Code93",
    "Codabar",
    "ITF",
    "DataBar",
    "DataBarExpanded",
    "DataBarLimited",
    "DXFilmEdge",
)

SUPPORTED_FORMATS: tuple[str, ...] = tuple(
    name for name in _CURATED if hasattr(zxingcpp.BarcodeFormat, name)
)


def format_filter(names: list[str] | None) -> Any:
    """zxing-cpp's ``formats`` argument for ``names``; None means every readable format.

    Several formats are passed as a tuple (zxing-cpp 3 deprecates ``|``).
    """
    if not names:
        return None
    unknown = [n for n in names if n not in SUPPORTED_FORMATS]
    if unknown:
        raise InvalidInput(
            f"unknown barcode format(s) {unknown}",
            details={"field": "formats", "supported": list(SUPPORTED_FORMATS)},
        )
    members = [getattr(zxingcpp.BarcodeFormat, name) for name in dict.fromkeys(names)]
    return members[0] if len(members) == 1 else tuple(members)


def format_name(value: Any) -> str:
    """The stable identifier of a decoded format (``QRCode``), not its display label."""
    name = getattr(value, "name", None)
    return str(name) if name else str(value).replace(" ", "").replace("-", "")
