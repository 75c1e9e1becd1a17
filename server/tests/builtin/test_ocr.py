"""ocr: word recall on rendered sentences, boxes on the rendered words, options, errors."""

from __future__ import annotations

import os
from typing import Any

import pytest
from builtin_samples import (
    SENTENCES,
    box_tuple,
    iou,
    normalise_words,
    render_lines,
    word_recall,
)
from PIL import Image

from app.plugins.testing import PluginHarness, image_payload

ORDINARY_SIZES = (16, 20, 24, 32, 48)


@pytest.mark.parametrize("size", ORDINARY_SIZES)
def test_word_recall_at_ordinary_sizes(builtins: PluginHarness, size: int) -> None:
    image, _ = render_lines(list(SENTENCES), size)
    result = builtins.call("ocr.read_text", image_payload(image))
    expected = normalise_words(" ".join(SENTENCES))
    recall = word_recall(expected, normalise_words(result["text"]))
    assert recall >= 0.95, f"size {size}px: recall {recall:.2%}: {result['text']!r}"
    assert result["confidence"] > 0.7
    assert (result["width"], result["height"]) == image.size


def test_word_boxes_overlap_the_rendered_words(builtins: PluginHarness) -> None:
    image, rendered = render_lines(list(SENTENCES[:2]), 28)
    result = builtins.call("ocr.read_words", image_payload(image))
    found: dict[str, list[dict[str, Any]]] = {}
    for word in result["words"]:
        found.setdefault(
            normalise_words(word["text"])[0] if normalise_words(word["text"]) else "", []
        ).append(word)
    matched = 0
    for word in rendered:
        key = normalise_words(word.text)[0]
        candidates = found.get(key, [])
        best = max((iou(word.box, box_tuple(c["box"])) for c in candidates), default=0.0)
        if best >= 0.5:
            matched += 1
    assert matched >= 0.95 * len(rendered), f"{matched}/{len(rendered)} boxes match"
    for word in result["words"]:
        assert 0 <= word["confidence"] <= 1
        assert 0 <= word["line"] < len(result["lines"])
    assert [line["text"] for line in result["lines"]] == list(SENTENCES[:2])
    assert result["text"] == "\n".join(SENTENCES[:2])


def test_min_confidence_filters_words(builtins: PluginHarness) -> None:
    image, _ = render_lines([SENTENCES[0]], 24)
    everything = builtins.call("ocr.read_words", image_payload(image))
    nothing = builtins.call("ocr.read_words", image_payload(image, min_confidence=1.0))
    assert len(everything["words"]) == 9
    assert len(nothing["words"]) <= 1  # only a word Tesseract is exactly 100% sure of


def test_single_line_mode_and_transparent_background(builtins: PluginHarness) -> None:
    image, _ = render_lines([SENTENCES[1]], 24, mode="RGBA")
    result = builtins.call("ocr.read_text", image_payload(image, psm=7))
    assert normalise_words(result["text"]) == normalise_words(SENTENCES[1])


def test_blank_image_has_no_text(builtins: PluginHarness) -> None:
    blank = Image.new("RGB", (300, 100), "white")
    assert builtins.call("ocr.read_text", image_payload(blank))["text"] == ""
    words = builtins.call("ocr.read_words", image_payload(blank))
    assert words["words"] == [] and words["lines"] == []


def test_languages_lists_what_is_installed(builtins: PluginHarness) -> None:
    result = builtins.call("ocr.languages")
    assert "eng" in result["languages"]
    assert "osd" not in result["languages"]
    assert result["tesseract_version"].startswith("tesseract 5")
    assert "tessdata_dir" not in result  # a filesystem path is the log's business


def test_unknown_language_and_bad_psm_are_validation_errors(builtins: PluginHarness) -> None:
    image, _ = render_lines(["abc"], 20)
    error = builtins.error("ocr.read_text", image_payload(image, lang="klingon"))
    assert error["type"] == "ValidationError"
    assert error["details"]["code"] == "invalid_input"
    assert "eng" in error["details"]["installed"]
    error = builtins.error("ocr.read_text", image_payload(image, psm=2))
    assert error["details"]["code"] == "invalid_input"


def test_progress_is_reported(builtins: PluginHarness) -> None:
    image, _ = render_lines(["progress"], 20)
    builtins.call("ocr.read_text", image_payload(image))
    fractions = [fraction for fraction, _ in builtins.progress]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0


def test_tesseract_runs_one_thread_per_worker(builtins: PluginHarness) -> None:
    # startup sets the OpenMP limit before tesserocr is imported (see ocr.engine).
    assert os.environ["OMP_THREAD_LIMIT"] == os.environ.get("VISOR_OCR_THREADS", "1")


# -- options ------------------------------------------------------------------------------


def test_levels_and_the_item_limit(builtins: PluginHarness) -> None:
    image, _ = render_lines(list(SENTENCES), 24)
    lines = builtins.call("ocr.read_words", image_payload(image, level="lines"))
    assert [line["text"] for line in lines["lines"]] == list(SENTENCES)
    assert lines["words"] == [] and lines["level"] == "lines"
    assert (lines["truncated"], lines["total_items"]) == (False, 4)

    limited = builtins.call("ocr.read_words", image_payload(image, max_items=5))
    assert [w["text"] for w in limited["words"]] == SENTENCES[0].split()[:5]
    assert limited["truncated"] is True
    assert limited["total_items"] == sum(len(s.split()) for s in SENTENCES)
    assert [line["text"] for line in limited["lines"]] == [SENTENCES[0]]  # only lines in use
    assert limited["text"].splitlines() == list(SENTENCES)  # the text is always whole

    blocks = builtins.call("ocr.read_words", image_payload(image, level="blocks"))
    assert blocks["blocks"] and blocks["lines"] == []
    joined = " ".join(b["text"] for b in blocks["blocks"])
    assert normalise_words(joined) == normalise_words(" ".join(SENTENCES))


def test_allowlisted_variables_apply_to_one_call_only(builtins: PluginHarness) -> None:
    image, _ = render_lines(["Invoice 4821 paid 12 March"], 28)
    digits = builtins.call(
        "ocr.read_text",
        image_payload(image, variables={"tessedit_char_whitelist": "0123456789 "}),
    )
    assert set(digits["text"]) <= set("0123456789 \n") and "4821" in digits["text"]
    again = builtins.call("ocr.read_text", image_payload(image))
    assert again["text"] == "Invoice 4821 paid 12 March"  # the whitelist did not stick
    sauvola = builtins.call(
        "ocr.read_text", image_payload(image, variables={"thresholding_method": 2}, dpi=300)
    )
    assert sauvola["text"] == "Invoice 4821 paid 12 March"


@pytest.mark.parametrize(
    "variables",
    [{"tessedit_write_images": True}, {"thresholding_method": 7}, {"user_words_file": "/etc"}],
)
def test_other_variables_are_refused_by_the_schema(
    builtins: PluginHarness, variables: dict[str, Any]
) -> None:
    image, _ = render_lines(["abc"], 20)
    error = builtins.error("ocr.read_text", image_payload(image, variables=variables))
    assert error["details"]["code"] == "invalid_input"


def test_hocr_and_tsv_exports(builtins: PluginHarness) -> None:
    image, _ = render_lines([SENTENCES[0]], 28)
    hocr = builtins.call("ocr.export", image_payload(image))
    assert hocr["format"] == "hocr"
    assert "class='ocrx_word'" in hocr["content"] and ">quick</span>" in hocr["content"]
    tsv = builtins.call("ocr.export", image_payload(image, format="tsv"))
    rows = [r.split("\t") for r in tsv["content"].strip().splitlines()]
    assert [r[-1] for r in rows if r[0] == "5"] == SENTENCES[0].split()


@pytest.mark.parametrize("option", [{"dpi": 10}, {"level": "glyphs"}, {"max_items": 0}])
def test_impossible_options_are_validation_errors(
    builtins: PluginHarness, option: dict[str, Any]
) -> None:
    image, _ = render_lines(["abc"], 20)
    error = builtins.error("ocr.read_words", image_payload(image, **option))
    assert error["details"]["code"] == "invalid_input"
