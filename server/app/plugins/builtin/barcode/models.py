"""Input and output schemas of the ``barcode`` tools."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.plugins.base import ImageInput
from app.plugins.builtin.barcode.formats import SUPPORTED_FORMATS
from app.plugins.vocabulary import ImageResult, Polygon, Region


class ReadInput(ImageInput):
    formats: list[str] | None = Field(
        None,
        description="Only look for these formats (faster, fewer false reads); "
        "default: all. Known: " + ", ".join(SUPPORTED_FORMATS) + ".",
        json_schema_extra={"items": {"enum": list(SUPPORTED_FORMATS)}},
    )
    try_rotate: bool = Field(True, description="Also look for codes rotated by 90/270 degrees.")
    try_invert: bool = Field(True, description="Also look for light-on-dark codes.")
    try_downscale: bool = Field(True, description="Also scan downscaled copies (large images).")
    max_results: int = Field(50, ge=1, le=500, description="Stop after this many codes.")


class Barcode(Region):
    format: str = Field(description="zxing-cpp format name, e.g. QRCode, EAN13, Code128.")
    text: str = Field(description="Decoded content as text (binary content is escaped).")
    content_type: str = Field(description="Text, Binary, Mixed, GS1, ISO15434 or UnknownECI.")
    symbology_identifier: str = Field(description="ISO/IEC 15424 identifier, e.g. ]Q1.")
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
