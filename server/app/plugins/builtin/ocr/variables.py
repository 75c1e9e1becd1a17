"""The Tesseract variables a caller may set, each with its type and bounds.

Tesseract has hundreds of variables; some write files (``tessedit_write_images``), some
only take effect at initialisation, some crash it with odd values. Callers get the ones
Tesseract users reach for, validated by the tool's input schema; everything else is
refused there, before Tesseract sees it. Values are restored after every call, so one
caller's settings never leak into the next call on the same worker.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TesseractVariables(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tessedit_char_whitelist: str | None = Field(
        None, max_length=512, description="Only recognise these characters."
    )
    tessedit_char_blacklist: str | None = Field(
        None, max_length=512, description="Never recognise these characters."
    )
    preserve_interword_spaces: bool | None = Field(
        None, description="Keep runs of spaces between words (tables, forms)."
    )
    thresholding_method: Literal[0, 1, 2] | None = Field(
        None,
        description="Binarisation: 0 = Otsu (Tesseract's default), 1 = LeptonicaOtsu (tiled), "
        "2 = Sauvola (adaptive; uneven lighting).",
    )
    thresholding_window_size: float | None = Field(
        None, gt=0.0, le=2.0, description="Sauvola/tiled window, as a fraction of the DPI."
    )
    thresholding_kfactor: float | None = Field(
        None, ge=0.0, le=1.0, description="Sauvola's k (sensitivity), default 0.34."
    )
    thresholding_tile_size: float | None = Field(
        None, gt=0.0, le=2.0, description="LeptonicaOtsu tile size, as a fraction of the DPI."
    )
    thresholding_smooth_kernel_size: float | None = Field(
        None, ge=0.0, le=2.0, description="LeptonicaOtsu smoothing, as a fraction of the DPI."
    )
    thresholding_score_fraction: float | None = Field(
        None, ge=0.0, le=1.0, description="LeptonicaOtsu score fraction."
    )
    tessedit_do_invert: bool | None = Field(
        None, description="Also try inverted (light-on-dark) text lines."
    )
    invert_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Invert a line when its confidence is below this."
    )
    textord_heavy_nr: bool | None = Field(None, description="Heavy noise removal.")
    textord_tabfind_find_tables: bool | None = Field(
        None, description="Detect tables during layout analysis."
    )
    textord_min_xheight: int | None = Field(
        None, ge=1, le=200, description="Smallest x-height (pixels) of text to find."
    )
    classify_bln_numeric_mode: bool | None = Field(
        None, description="Prefer digits (numeric fields)."
    )
    hocr_font_info: bool | None = Field(None, description="hOCR: add font information.")
    hocr_char_boxes: bool | None = Field(None, description="hOCR: add character boxes.")

    def as_strings(self) -> dict[str, str]:
        """The set variables as Tesseract wants them (``bool`` as ``0``/``1``)."""
        values = self.model_dump(exclude_none=True)
        return {k: str(int(v)) if isinstance(v, bool) else str(v) for k, v in values.items()}
