"""barcode: generated QR, EAN-13 and Code128 codes decoded with text and position."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from builtin_samples import box_tuple, dark_bbox, encode
from PIL import Image, ImageFilter, ImageOps

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


# -- real photos and the options users of zxing-cpp expect --------------------------------

DATA = Path(__file__).resolve().parent / "data" / "barcodes"


def _mime(name: str) -> str:
    return "image/webp" if name.endswith(".webp") else "image/png"


def test_real_photos_and_scans(builtins: PluginHarness) -> None:
    """zxing-cpp's own sample photos (data/barcodes/SOURCE.md): expected text, no ghosts."""
    manifest = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    read, missed, ghosts = 0, [], []
    for sample in manifest:
        data = (DATA / sample["file"]).read_bytes()
        result = builtins.call("barcode.read", image_payload(data, mime_type=_mime(sample["file"])))
        texts = [code["text"] for code in result["barcodes"]]
        if sample["format_folder"].startswith("falsepositives"):
            ghosts += [(sample["file"], t) for t in texts]
        elif sample["expected_text"] is not None:
            if sample["expected_text"] in texts:
                read += 1
            else:
                missed.append(sample["file"])
    assert read >= 43, missed  # two blurred UPC-A photos stay unread
    assert ghosts == []


def _add_on_page(content: str, fmt: str = "EAN13") -> Image.Image:
    symbol = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt))
    page = Image.new("L", (700, 300), 255)
    page.paste(Image.fromarray(np.asarray(symbol.to_image(scale=3))), (60, 60))
    return page


def test_ean_add_ons_are_read_once(builtins: PluginHarness) -> None:
    page = _add_on_page("9780201310054 12345")  # a book's ISBN with its price add-on
    result = builtins.call("barcode.read", image_payload(page))
    assert [(c["text"], c["add_on"]) for c in result["barcodes"]] == [
        ("978020131005412345", "12345")
    ]
    assert result["barcodes"][0]["symbology"] == "EANUPC"
    ignored = builtins.call("barcode.read", image_payload(page, add_on="ignore"))
    assert [(c["text"], c["add_on"]) for c in ignored["barcodes"]] == [("9780201310054", None)]
    upc = builtins.call("barcode.read", image_payload(_add_on_page("036000291452 07", "UPCA")))
    # zxing-cpp reports a UPC-A as the EAN-13 it is a subset of (leading 0)
    assert [(c["text"], c["add_on"]) for c in upc["barcodes"]] == [("003600029145207", "07")]
    plain = _add_on_page("9780201310054")
    assert builtins.call("barcode.read", image_payload(plain, add_on="require"))["count"] == 0


def _symbol_page(content: str, fmt: str, **options: Any) -> Image.Image:
    symbol = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt), **options)
    page = Image.new("L", (500, 500), 255)
    page.paste(Image.fromarray(np.asarray(symbol.to_image(scale=5))), (40, 40))
    return page


def test_gs1_payload_keeps_its_group_separators(builtins: PluginHarness) -> None:
    # (10) batch is variable length, so a GS separates it from the (17) expiry date.
    page = _symbol_page("(01)09501101530003(10)AB-123(17)260704", "DataMatrix", gs1=True)
    (code,) = builtins.call("barcode.read", image_payload(page))["barcodes"]
    assert code["content_type"] == "GS1"
    assert code["text"] == "(01)09501101530003(10)AB-123(17)260704"  # human-readable
    assert base64.b64decode(code["bytes"]) == b"0109501101530003" + b"10AB-123\x1d17260704"
    (plain,) = builtins.call("barcode.read", image_payload(page, text_mode="plain"))["barcodes"]
    assert plain["text"] == "0109501101530003" + "10AB-123\x1d17260704"


def test_iso_15434_payload_bytes_are_exact(builtins: PluginHarness) -> None:
    content = "[)>\x1e06\x1dP12345\x1dQ10\x1e\x04"
    page = _symbol_page(content, "PDF417")
    (code,) = builtins.call("barcode.read", image_payload(page))["barcodes"]
    assert code["content_type"] == "ISO15434"
    assert base64.b64decode(code["bytes"]).decode("ascii") == content
    assert code["ec_level"]  # PDF417 reports its error correction as a percentage
    (escaped,) = builtins.call("barcode.read", image_payload(page, text_mode="escaped"))["barcodes"]
    assert escaped["text"] == "[)><RS>06<GS>P12345<GS>Q10<RS><EOT>"


def test_qr_error_correction_level_and_validity(builtins: PluginHarness) -> None:
    page = _symbol_page("level H", "QRCode", ec_level="H")
    (code,) = builtins.call("barcode.read", image_payload(page))["barcodes"]
    assert (code["ec_level"], code["valid"], code["error"]) == ("H", True, None)


def test_binarizer_choice_and_auto_fallback(builtins: PluginHarness) -> None:
    symbol = Image.fromarray(
        np.asarray(
            zxingcpp.create_barcode(
                "https://visor.example/q?id=42", zxingcpp.BarcodeFormat.QRCode
            ).to_image(scale=3)
        )
    ).filter(ImageFilter.GaussianBlur(1))
    noisy = np.asarray(symbol, dtype=np.float64) + np.random.default_rng(5).normal(
        0,
        25,
        (
            symbol.height,
            symbol.width,
        ),
    )
    photo = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))  # grainy, soft photo
    payload = image_payload(photo)
    assert builtins.call("barcode.read", {**payload, "binarizer": "local_average"})["count"] == 0
    assert builtins.call("barcode.read", {**payload, "binarizer": "global_histogram"})["count"] == 1
    auto = builtins.call("barcode.read", payload)
    assert [c["text"] for c in auto["barcodes"]] == ["https://visor.example/q?id=42"]

    dark = ImageOps.invert(_symbol_page("dim", "QRCode")).point(lambda v: 60 + v * 40 // 255)
    dark = ImageOps.invert(dark)  # dark modules on a dim background, all below mid-grey
    assert (
        builtins.call("barcode.read", image_payload(dark, binarizer="fixed_threshold"))["count"]
        == 0
    )
    assert builtins.call("barcode.read", image_payload(dark))["count"] == 1


@pytest.mark.parametrize(
    "option", [{"binarizer": "otsu"}, {"text_mode": "utf7"}, {"add_on": "maybe"}]
)
def test_unknown_option_values_are_validation_errors(
    builtins: PluginHarness, option: dict[str, Any]
) -> None:
    error = builtins.error("barcode.read", image_payload(Image.new("L", (64, 64), 255), **option))
    assert error["details"]["code"] == "invalid_input"
