"""Reading codes with zxing-cpp and turning its results into plain models."""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np
import zxingcpp

from app.plugins.builtin.barcode.formats import format_name
from app.plugins.builtin.barcode.models import Barcode
from app.plugins.vocabulary import box_around


def decode(
    gray: np.ndarray,
    *,
    formats: Any,
    try_rotate: bool,
    try_invert: bool,
    try_downscale: bool,
) -> list[Barcode]:
    options: dict[str, Any] = {
        "try_rotate": try_rotate,
        "try_invert": try_invert,
        "try_downscale": try_downscale,
    }
    if formats is not None:
        options["formats"] = formats
    try:
        results = zxingcpp.read_barcodes(gray, **options)
    except TypeError:
        if not isinstance(formats, tuple):
            raise
        options["formats"] = functools.reduce(operator.or_, formats)  # zxing-cpp 2.x
        results = zxingcpp.read_barcodes(gray, **options)
    return [_convert(found) for found in results]


def _convert(found: Any) -> Barcode:
    pos = found.position
    corners = [
        (int(p.x), int(p.y))
        for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
    ]
    content_type = getattr(found.content_type, "name", None) or str(found.content_type)
    return Barcode(
        format=format_name(found.format),
        text=found.text,
        content_type=content_type.rsplit(".", 1)[-1],
        symbology_identifier=str(found.symbology_identifier),
        orientation=int(found.orientation),
        polygon=corners,
        box=box_around(corners),
    )
