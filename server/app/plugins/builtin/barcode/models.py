"""Input and output schemas of the ``barcode`` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput
from app.plugins.builtin.barcode.formats import SUPPORTED_FORMATS
from app.plugins.vocabulary import ImageResult, Polygon, Region


class ReadInput(ImageInput):
    formats: list[str] | None = Field(
        default=None,
        description="Only look for these formats (faster, fewer false reads); "
        "default: all. Known: " + ", ".join(SUPPORTED_FORMATS) + ".",
        json_schema_extra={"items": {"enum": list(SUPPORTED_FORMATS)}},
    )
    add_on: Literal["read", "ignore", "require"] = Field(
        "read",
        description="EAN/UPC 2- and 5-digit add-ons (magazines, books): 'read' appends one "
        "when present (also in `add_on`), 'ignore' skips them, 'require' reports only "
        "EAN/UPC codes that have one.",
    )
    binarizer: Literal["auto", "local_average", "global_histogram", "fixed_threshold"] = Field(
        "auto",
        description="How the image is turned black and white: 'local_average' (zxing-cpp's "
        "default, good for uneven light), 'global_histogram' (one threshold: noisy, evenly "
        "lit photos), 'fixed_threshold' (clean renders); 'auto' tries local_average and, "
        "when that finds nothing, global_histogram.",
    )
    text_mode: Literal["hri", "plain", "escaped", "eci", "hex"] = Field(
        "hri",
        description="How `text` renders the content: 'hri' human-readable (GS1 as "
        "(01)…, control characters as visible symbols), 'plain' the characters themselves, "
        "'escaped' control characters as <GS>, <RS>…, 'eci' with ECI designators, 'hex' the "
        "bytes in hex. The exact bytes are always in `bytes`.",
    )
    try_rotate: bool = Field(True, description="Also look for codes rotated by 90/270 degrees.")
    try_invert: bool = Field(True, description="Also look for light-on-dark codes.")
    try_downscale: bool = Field(True, description="Also scan downscaled copies (large images).")
    is_pure: bool = Field(
        False, description="The image is one perfectly aligned generated code (faster)."
    )
    return_errors: bool = Field(
        False,
        description="Also report codes that were found but failed their checks (`valid` "
        "false, `error` says why), e.g. a wrong EAN check digit.",
    )
    max_results: int = Field(50, ge=1, le=500, description="Stop after this many codes.")


class Barcode(Region):
    format: str = Field(description="zxing-cpp format name, e.g. QRCode, EAN13, Code128.")
    text: str = Field(description="The content as text, rendered per `text_mode`.")
    symbology: str = Field(description="The format's family, e.g. EANUPC, QRCode, DataBar.")
    bytes: str = Field(description="The exact content bytes, base64 (GS/RS separators kept).")
    content_type: str = Field(description="Text, Binary, Mixed, GS1, ISO15434 or UnknownECI.")
    symbology_identifier: str = Field(description="ISO/IEC 15424 identifier, e.g. ]Q1.")
    ec_level: str | None = Field(
        default=None, description="Error correction level (QR: L/M/Q/H; PDF417, Aztec: %)."
    )
    add_on: str | None = Field(
        default=None, description="The EAN/UPC add-on's digits, when one was read."
    )
    valid: bool = Field(description="False only for codes reported with `return_errors`.")
    error: str | None = Field(default=None, description="Why an invalid code failed.")
    orientation: int = Field(description="Rotation of the code in degrees.")
    polygon: Polygon = Field(
        description="The code's four corners [[x, y], ...]: its own top-left, top-right, "
        "bottom-right, bottom-left (the code may be rotated)."
    )


class ReadOutput(ImageResult):
    barcodes: list[Barcode]
    count: int


class FormatsOutput(BaseModel):
    formats: list[str]
    zxing_version: str
