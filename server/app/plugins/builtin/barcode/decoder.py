"""Reading codes with zxing-cpp and turning its results into plain models."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import zxingcpp

from app.plugins.builtin.barcode.formats import format_name
from app.plugins.builtin.barcode.models import Barcode
from app.plugins.vocabulary import box_around

_BINARIZERS = {
    "local_average": "LocalAverage",
    "global_histogram": "GlobalHistogram",
    "fixed_threshold": "FixedThreshold",
}
_TEXT_MODES = {"hri": "HRI", "plain": "Plain", "escaped": "Escaped", "eci": "ECI", "hex": "Hex"}
_ADD_ON = {"read": "Read", "ignore": "Ignore", "require": "Require"}


@dataclass(frozen=True)
class ReadOptions:
    formats: Any
    add_on: str = "read"
    binarizer: str = "auto"
    text_mode: str = "hri"
    try_rotate: bool = True
    try_invert: bool = True
    try_downscale: bool = True
    is_pure: bool = False
    return_errors: bool = False


def decode(gray: np.ndarray, options: ReadOptions) -> list[Barcode]:
    """Every code in ``gray``; with ``binarizer=auto`` a second binarizer when none is found.

    The fallback costs a second scan only on images where the first found nothing.
    """
    tries = (
        ("local_average", "global_histogram")
        if options.binarizer == "auto"
        else (options.binarizer,)
    )
    results: list[Any] = []
    for binarizer in tries:
        results = _read(gray, options, binarizer)
        if results:
            break
    return _without_add_on_shadows([_convert(found) for found in results])


def _read(gray: np.ndarray, options: ReadOptions, binarizer: str) -> list[Any]:
    kwargs: dict[str, Any] = {
        "try_rotate": options.try_rotate,
        "try_invert": options.try_invert,
        "try_downscale": options.try_downscale,
        "is_pure": options.is_pure,
        "binarizer": getattr(zxingcpp.Binarizer, _BINARIZERS[binarizer]),
        "text_mode": getattr(zxingcpp.TextMode, _TEXT_MODES[options.text_mode]),
        "ean_add_on_symbol": getattr(zxingcpp.EanAddOnSymbol, _ADD_ON[options.add_on]),
        "return_errors": options.return_errors,
    }
    if options.formats is not None:
        kwargs["formats"] = options.formats
    return list(zxingcpp.read_barcodes(gray, **kwargs))


def _without_add_on_shadows(codes: list[Barcode]) -> list[Barcode]:
    """zxing-cpp reports an EAN/UPC with an add-on twice, with and without it: keep one."""
    with_add_on = [c for c in codes if c.add_on]
    return [
        code
        for code in codes
        if code.add_on
        or not any(
            other.format == code.format
            and other.text.startswith(code.text)
            and _same_place(other.box, code.box)
            for other in with_add_on
        )
    ]


def _same_place(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Boxes of one 1-D code: mostly the same columns, rows within a code's width.

    zxing-cpp reports a 1-D code's box as the scan lines it read, often a few pixels
    high, so two reads of one code overlap in x but barely in area.
    """
    overlap = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    narrow = max(1, min(a[2], b[2]))
    rows_apart = abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2))
    return overlap >= 0.5 * narrow and rows_apart <= max(a[2], b[2])


def _name(value: Any) -> str:
    name = getattr(value, "name", None) or str(value)
    return str(name).rsplit(".", 1)[-1]


def _add_on(extra: Any) -> str | None:
    value = extra.get("EanAddOn") if isinstance(extra, dict) else None
    return str(value) if value else None


def _convert(found: Any) -> Barcode:
    pos = found.position
    corners = [
        (int(p.x), int(p.y))
        for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
    ]
    extra = getattr(found, "extra", None) or {}
    error = getattr(found, "error", None)
    return Barcode(
        format=format_name(found.format),
        symbology=_name(getattr(found, "symbology", found.format)),
        text=found.text,
        bytes=base64.b64encode(bytes(found.bytes)).decode("ascii"),
        content_type=_name(found.content_type),
        symbology_identifier=str(found.symbology_identifier),
        ec_level=str(found.ec_level) or None,
        add_on=str(extra["EanAddOn"])
        if isinstance(extra, dict) and extra.get("EanAddOn")
        else None,
        valid=bool(found.valid),
        error=str(error) if error else None,
        orientation=int(found.orientation),
        polygon=corners,
        box=box_around(corners),
    )
