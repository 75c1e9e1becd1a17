"""ocr defaults on real and realistic pages: turned, unevenly lit, in columns.

Each test reads a page with known text and asserts the text itself (word recall and
character error rate, see documents.py), and where it matters that the previous default
(``rotate=0, background=keep``) really failed on the same page, so the test shows what
the default buys.
"""

from __future__ import annotations

from typing import Any

import pytest
from documents import (
    PARAGRAPHS,
    SKIMAGE_PAGE_TEXT,
    cer,
    phototest_text,
    phototest_upright,
    render_page,
    shade,
    turn,
    word_recall,
)
from PIL import Image

from app.plugins.testing import PluginHarness, image_payload

pytest.importorskip("skimage")

AS_IS = {"rotate": 0, "background": "keep"}  # the behaviour before the new defaults


@pytest.fixture(scope="module")
def ocr() -> Any:
    with PluginHarness("ocr") as harness:
        yield harness


@pytest.fixture(scope="module")
def two_columns() -> tuple[Image.Image, str]:
    return render_page([list(PARAGRAPHS[:2]), list(PARAGRAPHS[2:4])], title="Spring notes")


@pytest.mark.parametrize(("degrees", "reported"), [(90, 0), (180, 180), (270, 180)])
def test_turned_real_scans_are_read(ocr: PluginHarness, degrees: int, reported: int) -> None:
    """phototest turned right, upside down and left. Tesseract's layout analysis reads a
    page turned right by itself; the other two are read after turning them by 180."""
    page = turn(phototest_upright(), degrees)
    result = ocr.call("ocr.read_text", image_payload(page))
    assert word_recall(phototest_text(), result["text"]) == 1.0, result["text"]
    assert cer(phototest_text(), result["text"]) < 0.01
    assert result["orientation"] == reported
    assert result["confidence"] > 0.85
    if reported:
        as_is = ocr.call("ocr.read_text", image_payload(page, **AS_IS))
        assert word_recall(phototest_text(), as_is["text"]) < 0.2


def test_word_boxes_of_an_upside_down_page_are_on_the_input(ocr: PluginHarness) -> None:
    upright = phototest_upright()
    reference = ocr.call("ocr.read_words", image_payload(upright, **AS_IS))
    turned = ocr.call("ocr.read_words", image_payload(turn(upright, 180)))
    assert turned["orientation"] == 180
    width, height = upright.size
    expected = {
        w["text"]: (width - w["box"][0] - w["box"][2], height - w["box"][1] - w["box"][3])
        for w in reference["words"]
    }
    found = {w["text"]: tuple(w["box"][:2]) for w in turned["words"]}
    common = [t for t in expected if t in found and len(t) > 3]
    assert len(common) >= 12  # distinct words: the page repeats its sentences
    close = [
        t
        for t in common
        if all(abs(a - b) <= 3 for a, b in zip(found[t], expected[t], strict=True))
    ]
    assert len(close) >= 0.9 * len(common), (common, close)


def test_unevenly_lit_real_scan(ocr: PluginHarness) -> None:
    """scikit-image's page(): a photographed book page, bright on the left, dark right."""
    from skimage import data

    page = Image.fromarray(data.page())
    result = ocr.call("ocr.read_text", image_payload(page))
    assert word_recall(SKIMAGE_PAGE_TEXT, result["text"]) >= 0.9, result["text"]
    assert cer(SKIMAGE_PAGE_TEXT, result["text"]) < 0.1
    assert "unambiguously as either object or background" in result["text"]
    as_is = ocr.call("ocr.read_text", image_payload(page, **AS_IS))
    assert word_recall(SKIMAGE_PAGE_TEXT, as_is["text"]) < 0.7


def test_shaded_two_column_page(ocr: PluginHarness, two_columns: tuple[Image.Image, str]) -> None:
    page, text = two_columns
    result = ocr.call("ocr.read_text", image_payload(shade(page, low=0.3)))
    assert cer(text, result["text"]) < 0.02, result["text"]


def test_columns_are_read_column_by_column(
    ocr: PluginHarness, two_columns: tuple[Image.Image, str]
) -> None:
    page, text = two_columns
    result = ocr.call("ocr.read_words", image_payload(page, level="paragraphs"))
    assert cer(text, result["text"]) < 0.01
    firsts = [p["text"].split()[0] for p in result["paragraphs"]]
    assert firsts == ["Spring", "Every", "The", "Our", "Invoice"]
    left, right = result["paragraphs"][1]["box"], result["paragraphs"][3]["box"]
    assert left[0] + left[2] < right[0]  # the third paragraph is the right column's first


def test_background_option_changes_only_uneven_pages(
    ocr: PluginHarness, two_columns: tuple[Image.Image, str]
) -> None:
    page, text = two_columns
    forced = ocr.call("ocr.read_text", image_payload(page, background="normalize"))
    assert cer(text, forced["text"]) < 0.01  # normalising a clean page does no harm
