"""barcode: generated QR, EAN-13 and Code128 codes decoded with text and position."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from builtin_samples import box_tuple, dark_bbox, encode
from PIL import Image, ImageOps

from app.plugins.testing import PluginHarness, image_payload

CODES = (
    ("QRCode", "https://visor.example/q?id=42", (60, 60)),
    ("EAN13", "5901234123457", (420, 60)),
    ("Code128", "VISOR-128-abc", (60, 420)),
)


def _symbol(fmt: str, text: str, scale: int = 3) -> np.ndarray:
    code = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    return np.asarray(code.to_image(scale=scale))


def _sheet() -> tuple[Image.Image, dict[str, tuple[str, tuple[int, int, int, int]]]]:
    """All codes on one white page; returns where each one's dark modules are."""
    page = Image.new("L", (1000, 760), 255)
    expected = {}
    for fmt, text, offset in CODES:
        symbol = _symbol(fmt, text)
        page.paste(Image.fromarray(symbol), offset)
        expected[fmt] = (text, dark_bbox(symbol, offset))
    return page, expected


def _close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 4) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_every_code_is_decoded_with_text_and_position(builtins: PluginHarness) -> None:
    page, expected = _sheet()
    result = builtins.call("barcode.read", image_payload(page))
    found = {code["format"]: code for code in result["barcodes"]}
    assert result["count"] == 3 and set(found) == set(expected)
    for fmt, (text, where) in expected.items():
        code = found[fmt]
        assert code["text"] == text
        assert code["content_type"] == "Text"
        box = box_tuple(code["box"])
        if fmt == "QRCode":  # 2-D: the corners are the symbol's corners
            assert _close(box, where), (fmt, box, where)
        else:  # 1-D: zxing reports the horizontal extent of the bars and the scanned rows
            assert _close((box[0], box[2]), (where[0], where[2]))
            assert where[1] - 4 <= box[1] and box[1] + box[3] <= where[1] + where[3] + 4
        top_left, top_right, _, _ = code["polygon"]
        assert top_left[0] <= top_right[0]


def test_rotated_and_inverted_codes(builtins: PluginHarness) -> None:
    symbol = Image.fromarray(_symbol("QRCode", "turned"))
    page = Image.new("L", (400, 400), 255)
    page.paste(symbol.rotate(90, expand=True), (50, 50))
    result = builtins.call("barcode.read", image_payload(page))
    assert [c["text"] for c in result["barcodes"]] == ["turned"]
    assert result["barcodes"][0]["orientation"] in (90, -90, 270)

    inverted = ImageOps.invert(page.convert("L"))
    assert builtins.call("barcode.read", image_payload(inverted))["count"] == 1
    assert builtins.call("barcode.read", image_payload(inverted, try_invert=False))["count"] == 0


def test_formats_filter_and_jpeg_input(builtins: PluginHarness) -> None:
    page, _ = _sheet()
    jpeg = encode(page.convert("RGB"), "JPEG")
    only_qr = builtins.call(
        "barcode.read", image_payload(jpeg, mime_type="image/jpeg", formats=["QRCode"])
    )
    assert [c["format"] for c in only_qr["barcodes"]] == ["QRCode"]
    linear = builtins.call("barcode.read", image_payload(page, formats=["LinearCodes"]))
    assert {c["format"] for c in linear["barcodes"]} == {"EAN13", "Code128"}
    assert builtins.call("barcode.read", image_payload(page, max_results=1))["count"] == 1


def test_no_codes_on_a_plain_image(builtins: PluginHarness) -> None:
    plain = Image.new("RGB", (320, 240), (200, 220, 240))
    assert builtins.call("barcode.read", image_payload(plain))["barcodes"] == []


@pytest.mark.parametrize("formats", [["Nope"], ["qr"]])
def test_unknown_format_is_a_validation_error(builtins: PluginHarness, formats: list[str]) -> None:
    page = Image.new("L", (64, 64), 255)
    error = builtins.error("barcode.read", image_payload(page, formats=formats))
    assert error["details"]["code"] == "invalid_input"


def test_formats_tool(builtins: PluginHarness) -> None:
    result = builtins.call("barcode.formats")
    assert {"QRCode", "EAN13", "Code128", "DataMatrix"} <= set(result["formats"])
    assert result["zxing_version"] != "unknown"
